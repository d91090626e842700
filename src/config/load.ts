import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import type { Config } from './config.js';
import { rawSettingsSchema, settingDescriptions, type SettingName } from './schema.js';

/** Start-up configuration problem. The message names each variable and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  /** Variables to read; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Receives the development-mode warnings. */
  warn?: (message: string) => void;
}

/**
 * Validates the environment (and the optional JSON config file) once, fills development defaults,
 * and returns the configuration. Throws ConfigError listing every invalid variable.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((message: string) => process.stderr.write(`${message}\n`));
  const input = { ...readConfigFile(env.GATEHOUSE_CONFIG_FILE), ...pickSettings(env) };

  const parsed = rawSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'configuration') as SettingName;
      const expected = settingDescriptions[name] ?? '';
      return `  ${name}: ${issue.message}. Expected: ${expected}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const settings = parsed.data;
  const production = settings.GATEHOUSE_ENV === 'production';
  const dataDir = resolve(settings.GATEHOUSE_DATA_DIR);

  const problems: string[] = [];
  if (production && !settings.GATEHOUSE_PUBLIC_URL) {
    problems.push(`  GATEHOUSE_PUBLIC_URL: required in production. Expected: ${settingDescriptions.GATEHOUSE_PUBLIC_URL}`);
  }
  if (production && settings.GATEHOUSE_PUBLIC_URL?.startsWith('http://')) {
    problems.push('  GATEHOUSE_PUBLIC_URL: must use https:// in production, because session cookies are Secure.');
  }
  if (production && !settings.GATEHOUSE_SECRET) {
    problems.push(`  GATEHOUSE_SECRET: required in production. Expected: ${settingDescriptions.GATEHOUSE_SECRET}`);
  }
  if (production && settings.GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS) {
    problems.push('  GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS: must be false in production; it exists for local development only.');
  }
  if (Boolean(settings.GATEHOUSE_GOOGLE_CLIENT_ID) !== Boolean(settings.GATEHOUSE_GOOGLE_CLIENT_SECRET)) {
    problems.push('  GATEHOUSE_GOOGLE_CLIENT_ID and GATEHOUSE_GOOGLE_CLIENT_SECRET: set both to turn on Google sign-in, or neither.');
  }
  if (production && settings.GATEHOUSE_ALLOW_LOOPBACK_FETCH) {
    problems.push('  GATEHOUSE_ALLOW_LOOPBACK_FETCH: must be false in production; it exists for local development only.');
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }

  let secret: Uint8Array;
  if (settings.GATEHOUSE_SECRET) {
    secret = Buffer.from(settings.GATEHOUSE_SECRET, 'base64url');
  } else {
    secret = loadOrCreateDevelopmentSecret(dataDir, warn);
  }

  const publicUrl = settings.GATEHOUSE_PUBLIC_URL ?? `http://localhost:${settings.GATEHOUSE_PORT || 3000}`;

  return {
    env: settings.GATEHOUSE_ENV,
    publicUrl,
    host: settings.GATEHOUSE_HOST,
    port: settings.GATEHOUSE_PORT,
    dataDir,
    database: settings.DATABASE_URL
      ? { kind: 'postgres', url: settings.DATABASE_URL }
      : { kind: 'sqlite', file: join(dataDir, 'gatehouse.sqlite') },
    secret,
    session: {
      idleSeconds: settings.GATEHOUSE_SESSION_IDLE_MINUTES * 60,
      maxSeconds: settings.GATEHOUSE_SESSION_MAX_HOURS * 3600,
    },
    oneTimeLinkSeconds: settings.GATEHOUSE_SETUP_LINK_MINUTES * 60,
    // The bundled development provider runs on http://127.0.0.1, so development mode accepts it by default.
    allowHttpLoopbackIssuers: settings.GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS ?? !production,
    allowLoopbackFetch: settings.GATEHOUSE_ALLOW_LOOPBACK_FETCH ?? !production,
    dnsServers: settings.GATEHOUSE_DNS_SERVERS ? settings.GATEHOUSE_DNS_SERVERS.split(',') : [],
    domainRecheckSeconds: settings.GATEHOUSE_DOMAIN_RECHECK_MINUTES * 60,
    google:
      settings.GATEHOUSE_GOOGLE_CLIENT_ID && settings.GATEHOUSE_GOOGLE_CLIENT_SECRET
        ? { clientId: settings.GATEHOUSE_GOOGLE_CLIENT_ID, clientSecret: settings.GATEHOUSE_GOOGLE_CLIENT_SECRET, issuer: settings.GATEHOUSE_GOOGLE_ISSUER }
        : undefined,
    mail: {
      smtpUrl: settings.GATEHOUSE_SMTP_URL,
      from: settings.GATEHOUSE_MAIL_FROM ?? `no-reply@${new URL(publicUrl).hostname}`,
    },
    trustProxy: settings.GATEHOUSE_TRUST_PROXY,
    logLevel: settings.GATEHOUSE_LOG_LEVEL,
    deployment: settings.GATEHOUSE_DEPLOYMENT,
    gateway: {
      enabled: settings.GATEHOUSE_GATEWAY,
      timeoutSeconds: settings.GATEHOUSE_GATEWAY_TIMEOUT_SECONDS,
      exchangeTimeoutSeconds: settings.GATEHOUSE_TOKEN_EXCHANGE_TIMEOUT_SECONDS,
    },
    keyEncryptionKeys: (settings.GATEHOUSE_KEY_ENCRYPTION_KEYS ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const [id, key] = pair.split(':') as [string, string];
        return { id, key: Buffer.from(key, 'base64url') };
      }),
    issuerKeyRotationSeconds: settings.GATEHOUSE_ISSUER_KEY_ROTATION_DAYS * 86_400,
    mcpAllowedOrigins: settings.GATEHOUSE_MCP_ALLOWED_ORIGINS ?? [],
    oauthRegistrationLimit: settings.GATEHOUSE_OAUTH_REGISTRATION_LIMIT,
  };
}

function pickSettings(env: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of Object.keys(settingDescriptions)) {
    const value = env[name];
    if (value !== undefined && value !== '' && name !== 'GATEHOUSE_CONFIG_FILE') picked[name] = value;
  }
  return picked;
}

function readConfigFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `GATEHOUSE_CONFIG_FILE: cannot read ${path} as JSON (${(error as Error).message}). Point it at a JSON object file or unset it.`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`GATEHOUSE_CONFIG_FILE: ${path} must contain a JSON object of setting names to values.`);
  }
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(settingDescriptions, key) || key === 'GATEHOUSE_CONFIG_FILE') {
      throw new ConfigError(`GATEHOUSE_CONFIG_FILE: unknown setting "${key}" in ${path}. Known settings: ${Object.keys(settingDescriptions).join(', ')}.`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`GATEHOUSE_CONFIG_FILE: setting "${key}" in ${path} must be a string, number or boolean.`);
    }
    settings[key] = String(value);
  }
  return settings;
}

function loadOrCreateDevelopmentSecret(dataDir: string, warn: (message: string) => void): Uint8Array {
  const file = join(dataDir, 'development-secret');
  if (!isAbsolute(file)) throw new TypeError('data directory must resolve to an absolute path');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    const bytes = Buffer.from(stored, 'base64url');
    if (bytes.length < 32) {
      throw new ConfigError(`${file} contains a secret shorter than 32 bytes. Delete the file to generate a new one, or set GATEHOUSE_SECRET.`);
    }
    warn(`WARNING: DEVELOPMENT MODE. Using the generated secret in ${file}. Set GATEHOUSE_ENV=production and GATEHOUSE_SECRET for real deployments.`);
    return bytes;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  warn(
    [
      '************************************************************************',
      'WARNING: DEVELOPMENT MODE. GATEHOUSE_SECRET is not set, so a new secret',
      `was generated and stored in ${file}.`,
      'Anyone who can read that file can forge API key hashes and CSRF tokens.',
      'For real deployments set GATEHOUSE_ENV=production and GATEHOUSE_SECRET.',
      '************************************************************************',
    ].join('\n'),
  );
  return secret;
}
