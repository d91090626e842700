import { z } from 'zod';

/**
 * Environment variables that Gatehouse reads, with their defaults and the fix to suggest when a
 * value is invalid. The same names are accepted as keys of the optional JSON config file.
 */
export const settingDescriptions = {
  GATEHOUSE_ENV: 'development or production (default development)',
  GATEHOUSE_PUBLIC_URL: 'external base URL, for example https://gatehouse.example.com (no path, no trailing slash)',
  GATEHOUSE_HOST: 'interface to listen on (default 127.0.0.1)',
  GATEHOUSE_PORT: 'TCP port to listen on, 0-65535 (default 3000)',
  GATEHOUSE_DATA_DIR: 'directory for the SQLite database and development secrets (default ./.gatehouse)',
  DATABASE_URL: 'PostgreSQL connection URL (postgres://...); when unset, SQLite in the data directory is used',
  GATEHOUSE_SECRET: 'server secret, at least 32 random bytes encoded as base64url (openssl rand -base64 48 | tr "+/" "-_" | tr -d =)',
  GATEHOUSE_SESSION_IDLE_MINUTES: 'minutes of inactivity after which a session ends (default 720)',
  GATEHOUSE_SESSION_MAX_HOURS: 'hours after sign-in at which a session ends regardless of activity (default 168)',
  GATEHOUSE_SETUP_LINK_MINUTES: 'minutes for which a setup or sign-in link stays valid (default 60)',
  GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS: 'true to accept http:// OIDC issuers on 127.0.0.1, ::1 or localhost (default true in development; must be false in production)',
  GATEHOUSE_ALLOW_LOOPBACK_FETCH: 'true to let SAML metadata URLs point at 127.0.0.1, ::1 or localhost, over http too (default true in development; must be false in production)',
  GATEHOUSE_DNS_SERVERS: 'comma-separated DNS servers (IP or IP:port) for domain verification; default: the system resolver',
  GATEHOUSE_DOMAIN_RECHECK_MINUTES: 'minutes between rechecks of verified domains (default 360)',
  GATEHOUSE_TRUST_PROXY: 'true when a reverse proxy sets X-Forwarded-For (default false)',
  GATEHOUSE_LOG_LEVEL: 'fatal, error, warn, info, debug or trace (default info)',
  GATEHOUSE_MCP_ALLOWED_ORIGINS: 'comma-separated web origins, besides Gatehouse itself, whose pages may call /mcp from a browser, for example https://inspector.example.com (default: none)',
  GATEHOUSE_CONFIG_FILE: 'path to a JSON file whose keys are these variable names; environment variables win',
} as const;

export type SettingName = keyof typeof settingDescriptions;

const booleanString = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const positiveInteger = (max: number) =>
  z.coerce.number().int().min(1).max(max);

const publicUrl = z
  .string()
  .url()
  .transform((value) => new URL(value))
  .refine((url) => url.protocol === 'https:' || url.protocol === 'http:', 'must start with http:// or https://')
  .refine((url) => (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash, 'must have no path, query or fragment')
  .transform((url) => url.origin);

/** Raw setting values, before development defaults and secrets are filled in. */
export const rawSettingsSchema = z.object({
  GATEHOUSE_ENV: z.enum(['development', 'production']).default('development'),
  GATEHOUSE_PUBLIC_URL: publicUrl.optional(),
  GATEHOUSE_HOST: z.string().min(1).default('127.0.0.1'),
  GATEHOUSE_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./.gatehouse'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  GATEHOUSE_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url (letters, digits, - and _)')
    .refine((value) => Buffer.from(value, 'base64url').length >= 32, 'must decode to at least 32 bytes')
    .optional(),
  GATEHOUSE_SESSION_IDLE_MINUTES: positiveInteger(60 * 24 * 30).default(720),
  GATEHOUSE_SESSION_MAX_HOURS: positiveInteger(24 * 90).default(168),
  GATEHOUSE_SETUP_LINK_MINUTES: positiveInteger(60 * 24).default(60),
  GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS: booleanString.optional(),
  GATEHOUSE_ALLOW_LOOPBACK_FETCH: booleanString.optional(),
  GATEHOUSE_DNS_SERVERS: z
    .string()
    .regex(/^[0-9a-fA-F:.\[\]]+(,[0-9a-fA-F:.\[\]]+)*$/, 'must be IP addresses with optional ports, separated by commas')
    .optional(),
  GATEHOUSE_DOMAIN_RECHECK_MINUTES: positiveInteger(60 * 24 * 7).default(360),
  GATEHOUSE_TRUST_PROXY: booleanString.default(false),
  GATEHOUSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GATEHOUSE_MCP_ALLOWED_ORIGINS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be origins such as https://app.example.com, without a path or trailing slash')))
    .optional(),
});

export type RawSettings = z.infer<typeof rawSettingsSchema>;
