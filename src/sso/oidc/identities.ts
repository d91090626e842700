import type { AppContext } from '../../app/context.js';
import type { OIDCConnection, SignInAttemptTable } from '../../db/schema.js';
import { SignInFailed } from '../../http/errors.js';
import { addMembership } from '../../model/memberships.js';
import { createUser } from '../../model/users.js';

/**
 * Maps a provider's (connection, subject) pair to a user. Accounts are linked by that pair only:
 * an email the provider asserts never attaches the sign-in to an existing account, because a
 * misconfigured or hostile provider could assert anyone's address.
 *
 * - `link`: attaches the pair to the signed-in user who started the flow.
 * - `sign_in` with a known pair: that user, if still a member of the connection's organization.
 * - `sign_in` with a new pair: a new user and membership in the connection's default group,
 *   unless the organization already has a member with that email (who must link from settings).
 */
export async function resolveIdentity(
  context: AppContext,
  input: {
    connection: OIDCConnection;
    subject: string;
    email: string;
    name: string | null;
    intent: SignInAttemptTable['intent'];
    linkUserId: string | null;
  },
): Promise<string> {
  const { connection } = input;
  const now = context.clock();

  return context.store.db.transaction().execute(async (transaction) => {
    const identity = await transaction
      .selectFrom('identities')
      .select('user_id')
      .where('connection_id', '=', connection.id)
      .where('subject', '=', input.subject)
      .executeTakeFirst();

    if (input.intent === 'link') {
      if (!input.linkUserId) throw new SignInFailed('invalid_state', 'This link request has no account to link.');
      if (identity && identity.user_id !== input.linkUserId) {
        throw new SignInFailed('account_conflict', 'This identity is already linked to another Gatehouse account.');
      }
      if (!identity) {
        await transaction
          .insertInto('identities')
          .values({ connection_id: connection.id, subject: input.subject, user_id: input.linkUserId, created_at: now.toISOString() })
          .execute();
        context.logger.info({ event: 'identity.linked', connectionId: connection.id, userId: input.linkUserId }, 'identity linked');
      }
      return input.linkUserId;
    }

    if (identity) {
      const membership = await transaction
        .selectFrom('memberships')
        .select('user_id')
        .where('organization_id', '=', connection.organization_id)
        .where('user_id', '=', identity.user_id)
        .executeTakeFirst();
      if (!membership) {
        throw new SignInFailed('access_denied', 'You are no longer a member of this organization. Ask an owner to add you again.');
      }
      return identity.user_id;
    }

    const existingMember = await transaction
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('users.id')
      .where('memberships.organization_id', '=', connection.organization_id)
      .where('users.email', '=', input.email)
      .executeTakeFirst();
    if (existingMember) {
      throw new SignInFailed(
        'account_exists',
        'An account with this email already belongs to this organization but is not linked to this connection. Sign in another way and link it under Settings, or ask an owner.',
      );
    }

    const user = await createUser(transaction, { email: input.email, name: input.name, now });
    await addMembership(transaction, {
      organizationId: connection.organization_id,
      userId: user.id,
      groupId: connection.default_group_id,
      now,
    });
    await transaction
      .insertInto('identities')
      .values({ connection_id: connection.id, subject: input.subject, user_id: user.id, created_at: now.toISOString() })
      .execute();
    context.logger.info(
      { event: 'user.created', userId: user.id, organizationId: connection.organization_id, connectionId: connection.id },
      'user created on first sign-in',
    );
    return user.id;
  });
}
