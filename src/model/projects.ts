import type { Kysely, Transaction } from 'kysely';

import { newId } from '../crypto/tokens.js';
import type { Database } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A project groups provider settings and data inside an organization. */
export interface Project {
  id: string;
  organizationId: string;
  name: string;
  createdAt: string;
}

/** Creates a project; names are unique within an organization. */
export async function createProject(db: Executor, input: { organizationId: string; name: string; now: Date }): Promise<Project> {
  const project = { id: newId('prj'), organization_id: input.organizationId, name: input.name, created_at: input.now.toISOString() };
  await db.insertInto('projects').values(project).execute();
  return { id: project.id, organizationId: project.organization_id, name: project.name, createdAt: project.created_at };
}

/** Lists an organization's projects by name. */
export async function listProjects(db: Executor, organizationId: string): Promise<Project[]> {
  const rows = await db.selectFrom('projects').selectAll().where('organization_id', '=', organizationId).orderBy('name').execute();
  return rows.map((row) => ({ id: row.id, organizationId: row.organization_id, name: row.name, createdAt: row.created_at }));
}

/** Returns one project of an organization, or undefined. */
export async function findProject(db: Executor, organizationId: string, projectId: string): Promise<Project | undefined> {
  const row = await db.selectFrom('projects').selectAll().where('organization_id', '=', organizationId).where('id', '=', projectId).executeTakeFirst();
  return row ? { id: row.id, organizationId: row.organization_id, name: row.name, createdAt: row.created_at } : undefined;
}
