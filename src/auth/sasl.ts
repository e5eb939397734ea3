/**
 * SASL mechanisms as pure functions (RFC 4616 PLAIN, the de-facto LOGIN).
 * Protocol sessions drive the exchange; these only decode.
 */
export interface Credentials {
  /** Authorization identity (PLAIN only); empty = same as username. */
  authzid: string;
  username: string;
  password: string;
}

export type SaslResult = { ok: true; credentials: Credentials } | { ok: false; problem: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeBase64(text: string): Buffer | null {
  const t = text.trim();
  if (t.length % 4 !== 0 || !BASE64.test(t)) return null;
  return Buffer.from(t, 'base64');
}

/** PLAIN: base64("authzid\0authcid\0passwd"). */
export function decodePlain(response: string): SaslResult {
  const raw = decodeBase64(response);
  if (!raw) return { ok: false, problem: 'invalid base64' };
  const parts = raw.toString('utf8').split('\u0000');
  if (parts.length !== 3) return { ok: false, problem: 'malformed PLAIN response' };
  const [authzid, username, password] = parts as [string, string, string];
  if (!username || !password) return { ok: false, problem: 'empty username or password' };
  return { ok: true, credentials: { authzid, username, password } };
}

/** LOGIN sends the username and the password as two base64 answers. */
export function decodeLoginField(response: string): string | null {
  const raw = decodeBase64(response);
  if (!raw) return null;
  const text = raw.toString('utf8');
  return text.includes('\u0000') ? null : text;
}

export const LOGIN_USERNAME_CHALLENGE = Buffer.from('Username:').toString('base64');
export const LOGIN_PASSWORD_CHALLENGE = Buffer.from('Password:').toString('base64');
