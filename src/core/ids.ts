/**
 * Ids for connections and SMTP transactions (logs, Received, queue records):
 * a random per-process prefix and a counter, unique within and across
 * restarts without calling the CSPRNG for each one (randomBytes per
 * connection or per message was a visible cost; nothing relies on these
 * being unguessable).
 */
import { randomBytes } from 'node:crypto';

const PREFIX = randomBytes(6).toString('base64url');
let counter = 0;

export function newId(): string {
  return `${PREFIX}${(counter++).toString(36).padStart(6, '0')}`;
}
