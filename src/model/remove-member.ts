import type { AppContext } from '../app/context.js';
import { Conflict, NotFound } from '../http/errors.js';
import { countOwners, listMembers, removeMembership } from './memberships.js';

/**
 * Removes a member from an organization and ends their sessions' access to it. The last owner
 * cannot be removed, so an organization is never left without someone who can manage it.
 */
export async function removeMember(context: AppContext, organizationId: string, userId: string): Promise<void> {
  await context.store.db.transaction().execute(async (transaction) => {
    const member = (await listMembers(transaction, organizationId)).find((entry) => entry.userId === userId);
    if (!member) throw new NotFound('This user is not a member of the organization.');
    if (member.role === 'owners' && (await countOwners(transaction, organizationId)) <= 1) {
      throw new Conflict('The last owner cannot be removed. Make someone else an owner first.');
    }
    await removeMembership(transaction, organizationId, userId);
  });
  context.logger.info({ event: 'member.removed', organizationId, userId }, 'member removed');
}
