/**
 * TLS material for every listener (SPEC §1, §2 `tls`): the operator's
 * certificate and key when configured, otherwise a self-signed certificate
 * generated once into `<dataDir>/tls/` and reused on every later start, so a
 * client that was told to trust it keeps trusting it.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import tls, { type SecureContext } from 'node:tls';
import selfsigned from 'selfsigned';
import { systemClock, type Clock } from '../core/clock.js';
import { PostlineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export interface TlsMaterial {
  cert: Buffer; // PEM
  key: Buffer; // PEM
  selfSigned: boolean;
}

/** The slice of Config this module needs (structurally compatible with Config). */
export interface TlsSettings {
  tls: { cert: string; key: string } | null;
  dataDir: string;
  hostname: string;
}

export const SELF_SIGNED_CERT = 'selfsigned.crt';
export const SELF_SIGNED_KEY = 'selfsigned.key';

const DAY_MS = 24 * 60 * 60 * 1000;
const VALIDITY_MS = 10 * 365 * DAY_MS;
// Backdated a day so a client whose clock runs a little behind ours does not see "not yet valid".
const BACKDATE_MS = DAY_MS;
// Regenerate a little before expiry rather than serve a certificate that dies mid-run.
const RENEW_BEFORE_MS = 30 * DAY_MS;

export async function loadTlsMaterial(config: TlsSettings, logger: Logger, clock: Pick<Clock, 'now'> = systemClock): Promise<TlsMaterial> {
  if (config.tls) {
    const [cert, key] = await Promise.all([readConfigured(config.tls.cert, 'tls.cert'), readConfigured(config.tls.key, 'tls.key')]);
    return { cert, key, selfSigned: false };
  }
  const dir = join(config.dataDir, 'tls');
  // Single flight per directory: listeners starting side by side must not
  // generate two pairs and interleave their renames (key of one, cert of the other).
  let pending = inFlight.get(dir);
  if (!pending) {
    pending = loadSelfSigned(dir, config.hostname, logger, clock).finally(() => inFlight.delete(dir));
    inFlight.set(dir, pending);
  }
  return pending;
}

const inFlight = new Map<string, Promise<TlsMaterial>>();

async function loadSelfSigned(dir: string, hostname: string, logger: Logger, clock: Pick<Clock, 'now'>): Promise<TlsMaterial> {
  const certPath = join(dir, SELF_SIGNED_CERT);
  const keyPath = join(dir, SELF_SIGNED_KEY);
  const existing = await readExisting(certPath, keyPath);
  if (existing) {
    const problem = unusable(existing, hostname, clock.now());
    if (problem === null) return { ...existing, selfSigned: true };
    logger.warn({ cert: certPath, problem }, 'regenerating the self-signed certificate');
  }
  const fresh = await generate(hostname, clock.now());
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Order matters: key, then certificate, each replaced atomically. A
    // crash between the two renames leaves the new key beside no
    // certificate (treated as absent) or beside the old one (a mismatch
    // that unusable() catches), so the next start regenerates both instead
    // of serving a pair that fails every handshake.
    await writeAtomic(keyPath, fresh.key, 0o600);
    await writeAtomic(certPath, fresh.cert, 0o644);
  } catch (err) {
    throw new PostlineError('ERR_CONFIG_READ', `cannot write the self-signed certificate into ${dir}: ${(err as Error).message}`, { cause: err });
  }
  logger.info({ cert: certPath, hostname }, 'generated a self-signed TLS certificate; clients must be told to trust it');
  return { ...fresh, selfSigned: true };
}

/** The server-side context every listener and STARTTLS shares. Throws at startup, not at the first handshake, when cert and key do not fit. */
export function createSecureContext(material: Pick<TlsMaterial, 'cert' | 'key'>): SecureContext {
  try {
    // TLS 1.0/1.1 are deprecated (RFC 8996); every mail client of the last decade speaks 1.2.
    return tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new PostlineError('ERR_CONFIG_INVALID', `TLS certificate/key unusable: ${(err as Error).message}`, { cause: err });
  }
}

async function readConfigured(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new PostlineError('ERR_CONFIG_READ', `${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

async function readExisting(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer } | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PostlineError('ERR_CONFIG_READ', `cannot read the self-signed certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** Why a stored self-signed pair cannot be reused (damaged, mismatched, expiring, or for another hostname), or null. */
function unusable(pair: { cert: Buffer; key: Buffer }, hostname: string, now: number): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return 'key does not match certificate';
  } catch {
    return 'unreadable certificate or key';
  }
  const expires = Date.parse(cert.validTo);
  // NaN (a date format this runtime cannot parse) means "cannot tell": keep the certificate rather than regenerate on every start.
  if (expires - RENEW_BEFORE_MS < now) return `expires ${cert.validTo}`;
  const covered = isIP(hostname) ? cert.checkIP(hostname) : cert.checkHost(hostname);
  if (covered === undefined) return `does not cover hostname ${hostname}`;
  return null;
}

async function generate(hostname: string, now: number): Promise<{ cert: Buffer; key: Buffer }> {
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [];
  if (isIP(hostname)) altNames.push({ type: 7, ip: hostname });
  else altNames.push({ type: 2, value: hostname });
  if (hostname !== 'localhost') altNames.push({ type: 2, value: 'localhost' });
  if (hostname !== '127.0.0.1') altNames.push({ type: 7, ip: '127.0.0.1' });
  if (hostname !== '::1') altNames.push({ type: 7, ip: '::1' });
  const pems = await selfsigned.generate([{ name: 'commonName', value: hostname }], {
    // RSA rather than EC: some older mail clients and appliances still cannot verify ECDSA server certificates.
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256', // the library's default is sha1, which clients reject
    notBeforeDate: new Date(now - BACKDATE_MS),
    notAfterDate: new Date(now + VALIDITY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private) };
}

/** Temp file in the same directory, fsync, rename: a reader sees the old file or the whole new one, never half. */
async function writeAtomic(path: string, data: Buffer, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // 'wx' + mode at creation: the key is never readable by others, not even between create and chmod.
  const file = await open(tmp, 'wx', mode);
  try {
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
