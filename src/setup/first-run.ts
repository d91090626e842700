import type { AppContext } from '../app/context.js';
import { createSession } from '../auth/sessions.js';
import { InvalidLink, InvalidRequest } from '../http/errors.js';
import { normalizeEmail } from '../model/email.js';
import { addMembership } from '../model/memberships.js';
import { anyOrganizationExists, createOrganization } from '../model/organizations.js';
import { createUser } from '../model/users.js';
import { consumeOneTimeLink } from './one-time-links.js';

/**
 * Creates the first organization and its owner from a setup link, and signs the owner in. Everything
 * happens in one transaction, so a failure leaves the link usable and nothing half-created.
 */
export async function completeSetup(
  context: AppContext,
  input: { token: string; organizationName: string; ownerName: string; ownerEmail: string },
): Promise<{ organizationId: string; userId: string; sessionToken: string }> {
  const organizationName = input.organizationName.trim();
  const ownerName = input.ownerName.trim();
  if (organizationName.length < 1 || organizationName.length > 100) {
    throw new InvalidRequest('Enter an organization name of 1 to 100 characters.', { field: 'organization_name' });
  }
  if (ownerName.length > 100) {
    throw new InvalidRequest('Enter a name of at most 100 characters.', { field: 'owner_name' });
  }
  const email = normalizeEmail(input.ownerEmail);
  if (!email) throw new InvalidRequest('Enter a valid email address, such as ada@example.com.', { field: 'owner_email' });

  const now = context.clock();
  const created = await context.store.db.transaction().execute(async (transaction) => {
    const link = await consumeOneTimeLink(context, transaction, input.token, 'setup');
    if (!link.ok) throw new InvalidLink(link.problem);
    if (await anyOrganizationExists(transaction)) throw new InvalidLink('used');

    // NOTE: self-hosted first-run organizations start on Enterprise so SSO can be configured at once;
    // `gatehouse admin set-plan` changes it.
    const { organization, groups } = await createOrganization(transaction, { name: organizationName, plan: 'enterprise', now });
    const user = await createUser(transaction, { email: email.email, name: ownerName || null, now });
    await addMembership(transaction, { organizationId: organization.id, userId: user.id, groupId: groups.owners, now });
    return { organizationId: organization.id, userId: user.id };
  });

  const session = await createSession(context, { userId: created.userId, method: 'setup_link', connectionId: null });
  context.logger.info({ event: 'setup.completed', organizationId: created.organizationId, userId: created.userId }, 'first organization created');
  return { ...created, sessionToken: session.token };
}

/** Signs a user in with an operator-issued sign-in link; the recovery path for an owner without SSO access. */
export async function signInWithLink(context: AppContext, token: string): Promise<{ userId: string; sessionToken: string }> {
  const userId = await context.store.db.transaction().execute(async (transaction) => {
    const link = await consumeOneTimeLink(context, transaction, token, 'sign_in');
    if (!link.ok) throw new InvalidLink(link.problem);
    if (!link.userId) throw new InvalidLink('unknown');
    return link.userId;
  });
  const session = await createSession(context, { userId, method: 'sign_in_link', connectionId: null });
  context.logger.info({ event: 'sign_in_link.used', userId }, 'signed in with a one-time link');
  return { userId, sessionToken: session.token };
}
