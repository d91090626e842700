import type { Kysely, Transaction } from 'kysely';

import { newId } from '../crypto/tokens.js';
import type { Database, User } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Creates a user. Emails are stored as given after normalisation by the caller. */
export async function createUser(db: Executor, input: { email: string; name: string | null; now: Date }): Promise<User> {
  const user: User = { id: newId('usr'), email: input.email, name: input.name, created_at: input.now.toISOString() };
  await db.insertInto('users').values(user).execute();
  return user;
}

/** Returns a user by id, or undefined. */
export async function findUser(db: Executor, userId: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
}
