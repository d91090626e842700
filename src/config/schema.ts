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
  GATEHOUSE_GOOGLE_CLIENT_ID: 'OAuth client ID for "Continue with Google" (set with GATEHOUSE_GOOGLE_CLIENT_SECRET; Google sign-in is off without it)',
  GATEHOUSE_GOOGLE_CLIENT_SECRET: 'OAuth client secret for "Continue with Google"',
  GATEHOUSE_GOOGLE_ISSUER: 'OpenID issuer for Google sign-in (default https://accounts.google.com; change it only to test against another provider)',
  GATEHOUSE_SMTP_URL: 'SMTP server for sign-in codes, smtp://user:password@host:587 (STARTTLS) or smtps://host:465; without it, development mode writes codes to the log and production sends no codes',
  GATEHOUSE_MAIL_FROM: 'sender address of sign-in code emails (default no-reply@ the public URL\'s host)',
  GATEHOUSE_TRUST_PROXY: 'true when a reverse proxy sets X-Forwarded-For (default false)',
  GATEHOUSE_LOG_LEVEL: 'fatal, error, warn, info, debug or trace (default info)',
  GATEHOUSE_DEPLOYMENT: 'hosted or self-hosted (default self-hosted); workload identity federation to AI providers needs hosted',
  GATEHOUSE_GATEWAY: 'true to serve the model gateway (/v1/chat/completions, /v1/messages) (default true)',
  GATEHOUSE_GATEWAY_TIMEOUT_SECONDS: 'seconds to wait for the response headers of an AI provider in the gateway (default 120)',
  GATEHOUSE_TOKEN_EXCHANGE_TIMEOUT_SECONDS: 'seconds to wait for a provider token endpoint during workload identity federation (default 10)',
  GATEHOUSE_KEY_ENCRYPTION_KEYS: 'comma-separated ID:KEY pairs, KEY being 32 random bytes as base64url; the first encrypts, all decrypt (default: one key derived from GATEHOUSE_SECRET)',
  GATEHOUSE_ISSUER_KEY_ROTATION_DAYS: 'days each signing key of the federation issuer signs before the next one takes over, 2-365 (default 30)',
  GATEHOUSE_OAUTH_REGISTRATION_LIMIT: 'dynamic OAuth client registrations one client address may make per 10 minutes (default 30; behind a proxy, set GATEHOUSE_TRUST_PROXY so each client counts on its own)',
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
  GATEHOUSE_GOOGLE_CLIENT_ID: z.string().min(1).max(500).optional(),
  GATEHOUSE_GOOGLE_CLIENT_SECRET: z.string().min(1).max(500).optional(),
  GATEHOUSE_GOOGLE_ISSUER: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//.test(value), 'must start with https://')
    .default('https://accounts.google.com'),
  GATEHOUSE_SMTP_URL: z
    .string()
    .url()
    .refine((value) => /^smtps?:\/\/[^/]/.test(value), 'must start with smtp:// or smtps://')
    .optional(),
  GATEHOUSE_MAIL_FROM: z.string().email().optional(),
  GATEHOUSE_TRUST_PROXY: booleanString.default(false),
  GATEHOUSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GATEHOUSE_DEPLOYMENT: z.enum(['hosted', 'self-hosted']).default('self-hosted'),
  GATEHOUSE_GATEWAY: booleanString.default(true),
  GATEHOUSE_GATEWAY_TIMEOUT_SECONDS: positiveInteger(3600).default(120),
  GATEHOUSE_TOKEN_EXCHANGE_TIMEOUT_SECONDS: positiveInteger(300).default(10),
  GATEHOUSE_KEY_ENCRYPTION_KEYS: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}:[A-Za-z0-9_-]{43}(,[a-z0-9][a-z0-9-]{0,31}:[A-Za-z0-9_-]{43})*$/, 'must be ID:KEY pairs separated by commas, each ID of lowercase letters, digits and - and each KEY 32 bytes as base64url (43 characters)')
    .refine((value) => new Set(value.split(',').map((pair) => pair.split(':')[0])).size === value.split(',').length, 'must not repeat a key id')
    .refine((value) => !value.split(',').some((pair) => pair.startsWith('derived:')), 'must not use the id "derived", which names the key derived from GATEHOUSE_SECRET')
    .optional(),
  GATEHOUSE_ISSUER_KEY_ROTATION_DAYS: z.coerce.number().int().min(2).max(365).default(30),
  GATEHOUSE_OAUTH_REGISTRATION_LIMIT: positiveInteger(1_000_000).default(30),
  GATEHOUSE_MCP_ALLOWED_ORIGINS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be origins such as https://app.example.com, without a path or trailing slash')))
    .optional(),
});

export type RawSettings = z.infer<typeof rawSettingsSchema>;
