import { createContext, type AppContext } from '../app/context.js';
import { openStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Plan } from '../db/schema.js';
import { createLogger } from '../log/logger.js';
import { normalizeEmail } from '../model/email.js';
import { anyOrganizationExists, setPlan } from '../model/organizations.js';
import { reencryptSecrets } from '../providers/reencrypt-secrets.js';
import { createOneTimeLink } from '../setup/one-time-links.js';
import { fail, loadConfigOrExit } from './common.js';

async function withContext(task: (context: AppContext) => Promise<void>): Promise<void> {
  const config = loadConfigOrExit();
  const store = openStore(config.database);
  try {
    await migrateToLatest(store);
    const logger = createLogger({ level: 'warn', destination: process.stderr });
    await task(createContext({ config, store, logger }));
  } finally {
    await store.db.destroy();
  }
}

/** Prints a new setup link, while no organization exists. */
export async function runAdminSetupLink(): Promise<void> {
  await withContext(async (context) => {
    if (await anyOrganizationExists(context.store.db)) fail('an organization already exists; setup links only create the first one.');
    const link = await createOneTimeLink(context, { purpose: 'setup' });
    process.stdout.write(`${link.url}\n(valid once, until ${link.expiresAt})\n`);
  });
}

/** Prints a one-time sign-in link for the user with this email. */
export async function runAdminSignInLink(emailInput: string): Promise<void> {
  await withContext(async (context) => {
    const email = normalizeEmail(emailInput);
    if (!email) fail(`"${emailInput}" is not a valid email address.`);
    const users = await context.store.db.selectFrom('users').select(['id']).where('email', '=', email.email).execute();
    if (users.length === 0) fail(`no user has the email ${email.email}.`);
    if (users.length > 1) fail(`${users.length} users share the email ${email.email}; sign-in links need a unique email.`);
    const link = await createOneTimeLink(context, { purpose: 'sign_in', userId: users[0]!.id });
    process.stdout.write(`${link.url}\n(valid once, until ${link.expiresAt})\n`);
  });
}

/** Changes an organization's plan. */
export async function runAdminSetPlan(organizationId: string, plan: Plan): Promise<void> {
  await withContext(async (context) => {
    if (!(await setPlan(context.store.db, organizationId, plan))) fail(`no organization has the id ${organizationId}; see gatehouse admin list-organizations.`);
    process.stdout.write(`Organization ${organizationId} is now on the ${plan} plan.\n`);
  });
}

/** Lists organizations. */
export async function runAdminListOrganizations(): Promise<void> {
  await withContext(async (context) => {
    const rows = await context.store.db
      .selectFrom('organizations')
      .leftJoin('memberships', 'memberships.organization_id', 'organizations.id')
      .select((eb) => ['organizations.id', 'organizations.name', 'organizations.plan', eb.fn.count<number | string>('memberships.user_id').as('members')])
      .groupBy(['organizations.id', 'organizations.name', 'organizations.plan'])
      .orderBy('organizations.created_at')
      .execute();
    if (rows.length === 0) {
      process.stdout.write('No organizations.\n');
      return;
    }
    for (const row of rows) process.stdout.write(`${row.id}\t${row.plan}\t${Number(row.members)} members\t${row.name}\n`);
  });
}

/** Re-encrypts stored provider keys and issuer signing keys under the first key of GATEHOUSE_KEY_ENCRYPTION_KEYS. */
export async function runAdminRotateEncryptionKeys(): Promise<void> {
  await withContext(async (context) => {
    let result;
    try {
      result = await reencryptSecrets(context);
    } catch (error) {
      fail(`nothing was changed: ${(error as Error).message}.`);
    }
    process.stdout.write(
      `Re-encrypted ${result.providerKeys} provider keys and ${result.signingKeys} issuer signing keys under key "${result.currentKeyId}" ` +
        `(${result.alreadyCurrent} already used it). Keys other than "${result.currentKeyId}" can now be removed from GATEHOUSE_KEY_ENCRYPTION_KEYS.\n`,
    );
  });
}
