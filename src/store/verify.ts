/**
 * `postline log verify`: reads every segment, checks every record's header
 * and CRC, and reports counts by record type and any damage. Read-only; safe
 * while a server runs (it may see a record being written as a torn tail).
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { recordTypeName } from './log/record.js';
import { decodeSegmentHeader, parseSegmentFileName, scanRecords, segmentFileName, SEGMENT_HEADER_SIZE, type Damage } from './log/segment.js';

export interface VerifyReport {
  segments: number;
  records: number;
  bytes: number;
  byType: Record<string, number>;
  damage: Damage[];
  /** Problems that are not about one record (unreadable file, bad segment header). */
  problems: string[];
}

export async function verifyLog(logDir: string): Promise<VerifyReport> {
  const report: VerifyReport = { segments: 0, records: 0, bytes: 0, byType: {}, damage: [], problems: [] };
  let names: number[];
  try {
    names = (await readdir(logDir)).map(parseSegmentFileName).filter((n): n is number => n !== null).sort((a, b) => a - b);
  } catch (err) {
    report.problems.push(`cannot read ${logDir}: ${(err as Error).message}`);
    return report;
  }
  if (names.length === 0) report.problems.push(`no segments in ${logDir}`);
  let salt: number | null = null;
  for (const n of names) {
    const file = join(logDir, segmentFileName(n));
    const fh = await open(file, 'r');
    let buf: Buffer;
    try {
      buf = await fh.readFile();
    } finally {
      await fh.close();
    }
    report.segments++;
    report.bytes += buf.length;
    const header = decodeSegmentHeader(buf);
    if (typeof header === 'string') {
      report.problems.push(`${segmentFileName(n)}: ${header}`);
      continue;
    }
    if (salt !== null && header.salt !== salt) report.problems.push(`${segmentFileName(n)}: salt differs from earlier segments`);
    salt ??= header.salt;
    const result = scanRecords(n, buf, SEGMENT_HEADER_SIZE, header.salt, (h) => {
      const name = recordTypeName(h.type) ?? `type${h.type}`;
      report.byType[name] = (report.byType[name] ?? 0) + 1;
    });
    report.records += result.records;
    report.damage.push(...result.damage);
  }
  return report;
}

export function formatVerifyReport(report: VerifyReport): string[] {
  const lines = [`segments: ${report.segments}`, `records: ${report.records}`, `bytes: ${report.bytes}`];
  for (const [type, count] of Object.entries(report.byType).sort()) lines.push(`  ${type}: ${count}`);
  for (const p of report.problems) lines.push(`problem: ${p}`);
  for (const d of report.damage) lines.push(`damage: segment ${segmentFileName(d.segment)} offset ${d.offset} length ${d.length}: ${d.problem}`);
  lines.push(report.damage.length === 0 && report.problems.length === 0 ? 'log ok' : `log damaged: ${report.damage.length + report.problems.length} problem(s)`);
  return lines;
}
