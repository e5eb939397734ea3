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

/** An inline config user: exactly one of `password` (plain, allowed with a warning) or `passwordHash` (PHC string) is set. */
export interface InlineUser {
  address: string; // lower-case
  password: string | null;
  passwordHash: string | null;
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
