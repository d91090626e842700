/** Validated configuration that the rest of Gatehouse receives. Nothing reads process.env after start-up. */
export interface Config {
  env: 'development' | 'production';
  publicUrl: string;
  host: string;
  port: number;
  dataDir: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  /** Root secret; purpose-specific keys are derived from it (see deriveKey). */
  secret: Uint8Array;
  session: { idleSeconds: number; maxSeconds: number };
  oneTimeLinkSeconds: number;
  allowHttpLoopbackIssuers: boolean;
  /** Lets SAML metadata URLs point at loopback addresses; development only. */
  allowLoopbackFetch: boolean;
  /** DNS servers for domain verification; empty means the system resolver. */
  dnsServers: string[];
  domainRecheckSeconds: number;
  /** "Continue with Google"; undefined when no client is configured. */
  google: { clientId: string; clientSecret: string; issuer: string } | undefined;
  /** Outgoing mail for sign-in codes. Without smtpUrl, development logs codes and production sends none. */
  mail: { smtpUrl: string | undefined; from: string };
  trustProxy: boolean;
  logLevel: string;
  /** Whether this deployment is run by the vendor (hosted) or by the customer (self-hosted). */
  deployment: 'hosted' | 'self-hosted';
  /** Model gateway: on or off, and the timeouts of provider calls and token exchanges. */
  gateway: { enabled: boolean; timeoutSeconds: number; exchangeTimeoutSeconds: number };
  /** Configured key-encryption keys for stored provider secrets; the first one encrypts. */
  keyEncryptionKeys: Array<{ id: string; key: Buffer }>;
  /** Seconds each federation-issuer signing key signs before the next one takes over. */
  issuerKeyRotationSeconds: number;
  /** Web origins besides the public URL whose pages may call /mcp from a browser; unset means none. */
  mcpAllowedOrigins?: string[];
  /** Dynamic client registrations per client address per 10 minutes; 30 when unset. */
  oauthRegistrationLimit?: number;
}
