/**
 * The embedded default configuration (SPEC §1), used when there is no
 * --config, no POSTLINE_CONFIG and no ./postline.yaml. It spells out every key
 * with its default value so it doubles as a commented example file; a unit
 * test checks that these values equal the schema's own defaults.
 */
export const DEFAULT_CONFIG_YAML = `# postline configuration. Unknown keys are errors; \`postline check-config\` validates.
# Durations: 500ms, 30s, 5m, 1h, 5d. Sizes: 512B, 64KB, 25MB, 1GB (1 KB = 1024 bytes).
# Relative paths are relative to this file's directory.
# Environment overrides: POSTLINE_HOSTNAME, POSTLINE_DATA_DIR, POSTLINE_DOMAINS=a.org,b.org,
# nested keys with a double underscore: POSTLINE_STORE__FSYNC=off, POSTLINE_LISTEN__SMTP=0.0.0.0:25.

hostname: localhost                 # banner, EHLO, Received, DSN sender
dataDir: ./data                     # message log, users.json, generated certificate
domains: [localhost]                # local domains: their mail goes into mailboxes

# Inline users, besides \`postline user add\`. Exactly one of password / passwordHash:
#   - { address: alice@localhost, password: "secret" }              # plain: allowed, warns
#   - { address: bob@localhost, passwordHash: "$scrypt$ln=15,..." }  # from \`postline user hash\`
users: []
aliases: {}                         # { abuse@localhost: alice@localhost }; alias domains must be local
# catchAll: postmaster@localhost    # unset: unknown local recipients get 550 5.1.1 at RCPT

# Listeners: "host:port" or { address: "host:port", proxyProtocol: true }. A key left out = not listening.
# Also available: smtps (implicit TLS submission), pop3s, imaps.
listen:
  smtp: 127.0.0.1:2525              # MX: anyone may send to local domains
  submission: 127.0.0.1:2587        # AUTH required before MAIL
  pop3: 127.0.0.1:2110
  imap: 127.0.0.1:2143
  http: 127.0.0.1:8025              # /healthz, /metrics, admin API

admin:
  token: ""                         # bearer token for the admin API; empty = admin API off

# tls: { cert: cert.pem, key: key.pem }   # unset: a self-signed certificate is generated into dataDir

auth:
  plaintext: loopback               # AUTH without TLS: loopback (127.0.0.0/8, ::1 only) | never | always

relay:
  trustedNetworks: []               # CIDRs that may relay without AUTH, e.g. [192.168.0.0/16]
  popBeforeSmtp: 0s                 # >0: an IP that logged in over POP3/IMAP may relay this long

checks:
  ptr: off                          # off | fcrdns | sender-domain (MX port only)

dns:
  servers: []                       # "ip" or "ip:port"; empty = system resolvers
  doh: ""                           # DNS-over-HTTPS URL (https://...); empty = plain DNS

delivery:
  port: 25                          # port of remote MX hosts
  routes: {}                        # static routes overriding MX: { example.com: "10.0.0.5:25" }
  relayHost: ""                     # smarthost "host:port": all remote mail goes there
  retry: [1m, 5m, 15m, 1h, 4h]      # delays between attempts; the last one repeats
  maxQueueLifetime: 5d              # then the message bounces

limits:                             # 0 means 0, not "unlimited"
  maxMessageSize: 25MB
  maxRecipients: 100
  maxConnections: 10000
  maxConnectionsPerIp: 50
  idleTimeout: 5m
  authFailuresPerIp: 10             # per 10 minutes, all protocols together

workers:
  threads: auto                     # auto or 1..64

store:
  segmentSize: 64MB                 # 1MB..1GB
  fsync: batch                      # batch (group commit) | always | off (tests only: a crash loses data)
`;
