/** `postline check-config`: exit 0 with `config ok (SOURCE)`, or exit 1 with every error as `path.to.key: problem`. */
import { mergeUsers } from '../users/directory.js';
import { readUsers } from '../users/user-file.js';
import { stringOption, type ParsedArgs } from './args.js';
import type { CliContext } from './context.js';
import { requireConfig } from './load-config.js';

export async function runCheckConfig(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config, warnings, source } = requireConfig(ctx, stringOption(args, 'config'));
  // The users file is part of what `serve` loads at startup: a corrupt one
  // would stop the server, so report it here too, before a restart.
  let userWarnings: string[];
  try {
    userWarnings = mergeUsers(config.users, await readUsers(config.dataDir)).warnings;
  } catch (err) {
    ctx.err(`users: ${(err as Error).message}`);
    return 1;
  }
  ctx.out(`config ok (${source})`);
  for (const w of [...warnings, ...userWarnings]) ctx.err(`warning: ${w}`);
  return 0;
}
