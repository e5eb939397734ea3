/** `postline log verify`: checks every record of every segment; exit 1 on damage. */
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { verifyLog, formatVerifyReport } from '../store/verify.js';

/** Writes the report to `out`; returns the exit code (0 ok, 1 damage). */
export async function runLogVerify(config: Config, out: (line: string) => void): Promise<number> {
  const report = await verifyLog(join(config.dataDir, 'log'));
  for (const line of formatVerifyReport(report)) out(line);
  return report.damage.length === 0 && report.problems.length === 0 ? 0 : 1;
}
