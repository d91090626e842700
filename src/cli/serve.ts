import { createApp } from '../app/create-app.js';
import { purgeExpired } from '../app/purge.js';
import { purgeExpiredOAuth } from '../oauth/purge.js';
import { recheckVerifiedDomains } from '../domains/verified-domains.js';
import { anyOrganizationExists } from '../model/organizations.js';
import { createOneTimeLink } from '../setup/one-time-links.js';
import { fail, loadConfigOrExit } from './common.js';

/** Starts Gatehouse, prints the setup link on first run, and shuts down gracefully on SIGTERM or SIGINT. */
export async function runServe(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createApp(config);
  const { context, server } = app;

  try {
    await server.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      fail(
        `cannot listen on ${config.host}:${config.port} (${String(code)}): another program is using the port or it needs privileges. ` +
          'Stop it or set GATEHOUSE_PORT to a free port (and GATEHOUSE_PUBLIC_URL to match).',
      );
    }
    throw error;
  }
  context.logger.info(
    { event: 'server.started', publicUrl: config.publicUrl, database: config.database.kind, env: config.env },
    'Gatehouse is listening',
  );

  if (!(await anyOrganizationExists(context.store.db))) {
    const link = await createOneTimeLink(context, { purpose: 'setup' });
    // Printed to stdout for the operator rather than logged, so the token does not end up in log storage.
    process.stdout.write(
      `\nNo organization exists yet. Open this one-time setup link to create the first one (valid until ${link.expiresAt}):\n\n  ${link.url}\n\n`,
    );
  } else {
    process.stdout.write(`\nGatehouse is ready. Sign in at ${config.publicUrl}/signin\n\n`);
  }

  // Recheck verified domains in the background; a domain whose TXT record is gone stops granting anything.
  const recheck = setInterval(() => {
    recheckVerifiedDomains(context)
      .then((changed) => {
        if (changed > 0) context.logger.info({ event: 'domains.rechecked', changed }, 'domain verification changed');
      })
      .catch((error: unknown) => context.logger.error({ err: error }, 'domain recheck failed'));
  }, Math.min(config.domainRecheckSeconds, 3600) * 1000);
  recheck.unref();

  const purge = setInterval(() => {
    Promise.all([purgeExpired(context), purgeExpiredOAuth(context)])
      .then(([counts, oauthCounts]) => context.logger.debug({ event: 'purge.completed', ...counts, ...oauthCounts }, 'expired rows removed'))
      .catch((error: unknown) => context.logger.error({ err: error }, 'purge of expired rows failed'));
  }, 10 * 60 * 1000);
  purge.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(recheck);
    clearInterval(purge);
    context.logger.info({ event: 'server.stopping', signal }, 'shutting down: finishing open requests');
    const timer = setTimeout(() => {
      context.logger.error({ event: 'server.stop_timeout' }, 'shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    timer.unref();
    app
      .close()
      .then(() => {
        context.logger.info({ event: 'server.stopped' }, 'stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        context.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
