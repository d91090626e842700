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
  trustProxy: boolean;
  logLevel: string;
  /** Web origins besides the public URL whose pages may call /mcp from a browser; unset means none. */
  mcpAllowedOrigins?: string[];
}
