// Owned by the store work: `postline log verify`. (stub until the store lands)
import type { Config } from '../config/types.js';

/** Runs `postline log verify`; writes the report to `out`, returns the exit code (0 ok, 1 damage). */
export async function runLogVerify(config: Config, out: (line: string) => void): Promise<number> {
  out(`log verify: not implemented yet for ${config.dataDir}`);
  return 1;
}
