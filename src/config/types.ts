/**
 * The validated, resolved configuration (SPEC §2) as the rest of postline sees
 * it: units parsed (durations in ms, sizes in bytes), defaults filled in, frozen.
 * src/config/schema.ts must produce exactly this shape.
 */
export interface HostPort {
  host: string;
  port: number;
}

export interface ListenerConfig extends HostPort {
  proxyProtocol: boolean;
}

export type ListenerName = 'smtp' | 'submission' | 'smtps' | 'pop3' | 'pop3s' | 'imap' | 'imaps' | 'http';

export interface InlineUser {
  address: string;
  /** PHC string; a plain `password` in YAML is hashed at load time (and a warning logged). */
  passwordHash: string;
  /** true when the YAML gave a plain password (load warns). */
  plainInConfig: boolean;
}

export interface Config {
  hostname: string;
  dataDir: string; // absolute path
  domains: string[]; // lower-case
  users: InlineUser[];
  aliases: Record<string, string>; // lower-case alias -> lower-case target
  catchAll: string | null;
  listen: Partial<Record<ListenerName, ListenerConfig>>;
  admin: { token: string };
  tls: { cert: string; key: string } | null; // absolute paths
  auth: { plaintext: 'loopback' | 'never' | 'always' };
  relay: { trustedNetworks: string[]; popBeforeSmtpMs: number };
  checks: { ptr: 'off' | 'fcrdns' | 'sender-domain' };
  dns: { servers: HostPort[]; doh: string };
  delivery: {
    port: number;
    routes: Record<string, string>; // domain -> "host:port" or http(s) URL
    relayHost: HostPort | null;
    retryMs: number[];
    maxQueueLifetimeMs: number;
  };
  limits: {
    maxMessageSize: number;
    maxRecipients: number;
    maxConnections: number;
    maxConnectionsPerIp: number;
    idleTimeoutMs: number;
    authFailuresPerIp: number;
  };
  workers: { threads: number | 'auto' };
  store: { segmentSize: number; fsync: 'batch' | 'always' | 'off' };
}
