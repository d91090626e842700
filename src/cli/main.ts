#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';

import { settingDescriptions } from '../config/schema.js';
import { runAdminListOrganizations, runAdminRotateEncryptionKeys, runAdminSetPlan, runAdminSetupLink, runAdminSignInLink } from './admin.js';
import { runMigrate } from './migrate.js';
import { runServe } from './serve.js';

const environmentHelp = `\nEnvironment variables:\n${Object.entries(settingDescriptions)
  .map(([name, description]) => `  ${name.padEnd(40)} ${description}`)
  .join('\n')}\n`;

const program = new Command()
  .name('gatehouse')
  .description('Identity and access layer for AI platforms: SSO sign-in, API keys and the APIs they protect.')
  .showHelpAfterError()
  .addHelpText('after', environmentHelp);

program
  .command('serve')
  .description('Apply pending migrations and start the HTTP server. Prints a one-time setup link while no organization exists.')
  .action(() => runServe());

program
  .command('migrate')
  .description('Apply pending database migrations and exit.')
  .action(() => runMigrate());

const admin = program.command('admin').description('Operator tasks that work without signing in.');

admin
  .command('setup-link')
  .description('Print a new one-time link that creates the first organization (only while none exists).')
  .action(() => runAdminSetupLink());

admin
  .command('sign-in-link')
  .description('Print a one-time sign-in link for an existing user, for example an owner locked out of SSO.')
  .requiredOption('--email <email>', 'email address of the user')
  .action((options: { email: string }) => runAdminSignInLink(options.email));

admin
  .command('set-plan')
  .description('Change an organization\'s plan.')
  .requiredOption('--organization <id>', 'organization id (see list-organizations)')
  .requiredOption('--plan <plan>', 'free, pro or enterprise', (value: string) => {
    if (!['free', 'pro', 'enterprise'].includes(value)) throw new InvalidArgumentError('expected free, pro or enterprise.');
    return value;
  })
  .action((options: { organization: string; plan: 'free' | 'pro' | 'enterprise' }) => runAdminSetPlan(options.organization, options.plan));

admin
  .command('list-organizations')
  .description('List organizations with their ids, plans and member counts.')
  .action(() => runAdminListOrganizations());

admin
  .command('rotate-encryption-keys')
  .description('Re-encrypt every stored AI provider key and issuer signing key under the first key of GATEHOUSE_KEY_ENCRYPTION_KEYS.')
  .action(() => runAdminRotateEncryptionKeys());

await program.parseAsync(process.argv);
