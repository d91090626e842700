import type { AppContext } from '../../app/context.js';
import type { OIDCConnection, SignInAttemptTable } from '../../db/schema.js';
import { resolveFederatedIdentity } from '../federated-identity.js';

/** Maps an OIDC (connection, sub) pair to a user; see resolveFederatedIdentity for the rules. */
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
  return resolveFederatedIdentity(context, {
    organizationId: connection.organization_id,
    connectionId: connection.id,
    groupId: connection.default_group_id,
    email: input.email,
    name: input.name,
    intent: input.intent,
    linkUserId: input.linkUserId,
    method: 'oidc',
    identities: {
      async find(transaction) {
        const row = await transaction
          .selectFrom('identities')
          .select('user_id')
          .where('connection_id', '=', connection.id)
          .where('subject', '=', input.subject)
          .executeTakeFirst();
        return row?.user_id;
      },
      async link(transaction, userId) {
        await transaction
          .insertInto('identities')
          .values({ connection_id: connection.id, subject: input.subject, user_id: userId, created_at: context.clock().toISOString() })
          .execute();
      },
    },
  });
}
