import type { Transaction } from 'kysely';

import type { AppContext } from '../app/context.js';
import type { Database } from '../db/schema.js';
import { SignInFailed } from '../http/errors.js';
import { addMembership } from '../model/memberships.js';
import { createUser } from '../model/users.js';
import { mappedGroupFor } from '../domains/mappings.js';
import { isDomainVerified } from '../domains/verified-domains.js';

/** Storage of a provider identity (an OIDC subject or a SAML NameID of one connection). */
export interface IdentityStore {
  find(transaction: Transaction<Database>): Promise<string | undefined>;
  link(transaction: Transaction<Database>, userId: string): Promise<void>;
}

/**
 * Maps a provider identity to a user. Accounts are linked by the (connection, subject) pair. An
 * email the provider asserts attaches the sign-in to an existing account only within a domain the
 * organization verified, because a misconfigured or hostile provider could assert anyone's address.
 *
 * - `link`: attaches the pair to the signed-in user who started the flow, when the provider
 *   asserts that user's own email address.
 * - `sign_in` with a known pair: that user, if still a member of the connection's organization.
 * - `sign_in` with a new pair and an existing member with that email: linked to that member when
 *   the organization verified the email's domain, rejected otherwise (the member links from settings).
 * - `sign_in` with a new pair and no such member: a new user and membership in `groupId`.
 */
export async function resolveFederatedIdentity(
  context: AppContext,
  input: {
    identities: IdentityStore;
    organizationId: string;
    connectionId: string;
    /** Group for a new member: the connection's default, or the group an IdP group mapping chose. */
    groupId: string;
    /** True when an IdP group mapping chose `groupId`; it then wins over a domain mapping. */
    groupFromIdP?: boolean;
    email: string;
    name: string | null;
    intent: 'sign_in' | 'link';
    linkUserId: string | null;
    method: 'oidc' | 'saml';
  },
): Promise<string> {
  const now = context.clock();
  // Read before the transaction: SQLite has one connection, which the transaction holds.
  const emailDomain = input.email.slice(input.email.lastIndexOf('@') + 1);
  const mappedGroupId = input.groupFromIdP ? undefined : await mappedGroupFor(context, input.organizationId, emailDomain);
  const domainVerified = await isDomainVerified(context, input.organizationId, emailDomain);
  const groupId = mappedGroupId ?? input.groupId;

  return context.store.db.transaction().execute(async (transaction) => {
    const existingUserId = await input.identities.find(transaction);

    if (input.intent === 'link') {
      if (!input.linkUserId) throw new SignInFailed('invalid_state', 'This link request has no account to link.');
      // Linking the wrong person at the IdP would let them sign in as this account from then on.
      const account = await transaction.selectFrom('users').select('email').where('id', '=', input.linkUserId).executeTakeFirst();
      if (!account || account.email !== input.email) {
        throw new SignInFailed(
          'account_mismatch',
          `Your identity provider signed you in as ${input.email}, but this account is ${account?.email ?? 'unknown'}. Sign in at the identity provider as yourself, or sign out there first.`,
        );
      }
      if (existingUserId && existingUserId !== input.linkUserId) {
        throw new SignInFailed('account_conflict', 'This identity is already linked to another Gatehouse account.');
      }
      if (!existingUserId) {
        await input.identities.link(transaction, input.linkUserId);
        context.logger.info({ event: 'identity.linked', connectionId: input.connectionId, userId: input.linkUserId }, 'identity linked');
      }
      return input.linkUserId;
    }

    if (existingUserId) {
      const membership = await transaction
        .selectFrom('memberships')
        .select('user_id')
        .where('organization_id', '=', input.organizationId)
        .where('user_id', '=', existingUserId)
        .executeTakeFirst();
      if (!membership) {
        throw new SignInFailed('access_denied', 'You are no longer a member of this organization. Ask an owner to add you again.');
      }
      return existingUserId;
    }

    const existingMember = await transaction
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('users.id')
      .where('memberships.organization_id', '=', input.organizationId)
      .where('users.email', '=', input.email)
      .executeTakeFirst();
    if (existingMember && domainVerified) {
      // The organization proved it owns the domain and runs this connection, so the connection
      // speaks for addresses in it. This is how members who joined by Google or an email code
      // reach SSO once it is required.
      await input.identities.link(transaction, existingMember.id);
      context.logger.info({ event: 'identity.linked', connectionId: input.connectionId, userId: existingMember.id, reason: 'verified_domain' }, 'identity linked by verified domain');
      return existingMember.id;
    }
    if (existingMember) {
      throw new SignInFailed(
        'account_exists',
        'An account with this email already belongs to this organization but is not linked to this connection. Sign in another way and link it under Settings, or ask an owner.',
      );
    }

    const user = await createUser(transaction, { email: input.email, name: input.name, now });
    await addMembership(transaction, { organizationId: input.organizationId, userId: user.id, groupId, now });
    await transaction
      .insertInto('membership_joins')
      .values({
        organization_id: input.organizationId,
        user_id: user.id,
        group_id: groupId,
        connection_id: input.connectionId,
        mapping_domain: mappedGroupId ? emailDomain : null,
        method: input.method,
        created_at: now.toISOString(),
      })
      .execute();
    await input.identities.link(transaction, user.id);
    context.logger.info(
      { event: 'user.created', userId: user.id, organizationId: input.organizationId, connectionId: input.connectionId, mappingDomain: mappedGroupId ? emailDomain : null },
      'user created on first sign-in',
    );
    return user.id;
  });
}
