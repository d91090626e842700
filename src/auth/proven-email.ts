import type { Transaction } from 'kysely';

import type { AppContext } from '../app/context.js';
import type { Database } from '../db/schema.js';
import { consumerMailDomains } from '../domains/consumer-domains.js';
import { mappingForDomain } from '../domains/mappings.js';
import { SignInFailed, SSORequired } from '../http/errors.js';
import { addMembership } from '../model/memberships.js';
import type { NormalizedEmail } from '../model/email.js';
import { createUser } from '../model/users.js';
import { enforcingOrganization } from '../sso/enforcement.js';

/** A sign-in method that proves control of an email address rather than naming a provider subject. */
export type ProvenEmailMethod = 'google' | 'email_code';

/**
 * Finds or creates the user behind an email address that Gatehouse considers proven: a Google
 * account that Google is authoritative for, or a mailbox that received a one-time code.
 *
 * - `knownUserId`: an identity already linked (a Google subject); that user, if still a member
 *   somewhere.
 * - otherwise an existing user with this email who belongs to an organization;
 * - otherwise a new user, when a domain mapping covers the domain: they join in the mapped group,
 *   and the join is recorded with the mapping and the method.
 *
 * Throws SSORequired when the organization that verified the domain requires SSO and the person is,
 * or would become, its member. `link` runs inside the same transaction, with the resolved user.
 */
export async function userForProvenEmail(
  context: AppContext,
  input: {
    email: NormalizedEmail;
    name: string | null;
    method: ProvenEmailMethod;
    knownUserId?: string;
    link?: (transaction: Transaction<Database>, userId: string) => Promise<void>;
  },
): Promise<string> {
  const { email } = input;
  const now = context.clock();
  // Read before the transaction: SQLite has one connection, which the transaction holds.
  const enforcing = await enforcingOrganization(context.store.db, email.domain);
  const mapping = await mappingForDomain(context, email.domain);

  return context.store.db.transaction().execute(async (transaction) => {
    const userId = input.knownUserId ?? (await memberUserByEmail(transaction, email.email));

    if (userId) {
      const memberships = await transaction.selectFrom('memberships').select('organization_id').where('user_id', '=', userId).execute();
      if (memberships.length === 0) {
        throw new SignInFailed('access_denied', 'You are no longer a member of any organization here. Ask an owner to add you again.');
      }
      if (enforcing && memberships.some((row) => row.organization_id === enforcing)) throw new SSORequired(enforcing, email.domain);
      await input.link?.(transaction, userId);
      return userId;
    }

    if (!mapping) {
      // Public mail domains cannot be claimed, so only a work address can help there.
      const advice = consumerMailDomains.has(email.domain)
        ? 'Sign in with the work address your organization uses.'
        : `Sign in with the address your organization uses, or ask its administrator to map ${email.domain} to a group under Settings → Domains.`;
      throw new SignInFailed('access_denied', `No organization here has a member with ${email.email} or admits new members from ${email.domain}. ${advice}`);
    }
    if (enforcing === mapping.organizationId) throw new SSORequired(enforcing, email.domain);

    const user = await createUser(transaction, { email: email.email, name: input.name, now });
    await addMembership(transaction, { organizationId: mapping.organizationId, userId: user.id, groupId: mapping.groupId, now });
    await transaction
      .insertInto('membership_joins')
      .values({
        organization_id: mapping.organizationId,
        user_id: user.id,
        group_id: mapping.groupId,
        connection_id: null,
        mapping_domain: email.domain,
        method: input.method,
        created_at: now.toISOString(),
      })
      .execute();
    await input.link?.(transaction, user.id);
    context.logger.info(
      { event: 'user.created', userId: user.id, organizationId: mapping.organizationId, method: input.method, mappingDomain: email.domain },
      'user joined through a domain mapping',
    );
    return user.id;
  });
}

/**
 * Returns the oldest user with this email who belongs to an organization. The same address can
 * have one user per organization that created it through SSO; the oldest is the one setup or an
 * owner created first.
 */
async function memberUserByEmail(transaction: Transaction<Database>, email: string): Promise<string | undefined> {
  const row = await transaction
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select('users.id')
    .where('users.email', '=', email)
    .orderBy('users.created_at')
    .orderBy('users.id')
    .executeTakeFirst();
  return row?.id;
}
