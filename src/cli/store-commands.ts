/** `postline log verify` and `postline mailbox export`: argument handling here, the work in the store's ./log.js and ./mailbox.js. */
import { resolve } from 'node:path';
import { stringOption, type ParsedArgs } from './args.js';
import { usageError, type CliContext } from './context.js';
import { requireConfig } from './load-config.js';
import { runLogVerify } from './log.js';
import { runMailboxExport } from './mailbox.js';
import { addressArg } from './user.js';

export async function runLogVerifyCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  return runLogVerify(config, ctx.out);
}

const EXPORT_FORMATS = ['mbox'] as const;

export async function runMailboxExportCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const address = addressArg(args);
  const format = stringOption(args, 'format') ?? 'mbox';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw usageError(`unsupported format "${format}" (supported: ${EXPORT_FORMATS.join(', ')})`);
  }
  const out = stringOption(args, 'out');
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  return runMailboxExport(config, { address, format: 'mbox', out: out === undefined ? null : resolve(ctx.cwd, out) }, ctx.err);
}
