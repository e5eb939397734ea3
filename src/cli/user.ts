/** `postline user add | hash | del | list`. */
import { hashPassword } from '../auth/password.js';
import { isPostlineError } from '../core/errors.js';
import { mergeUsers } from '../users/directory.js';
import { addUser, deleteUser, listUsers, normalizeAddress } from '../users/user-file.js';
import { flag, stringOption, type ParsedArgs } from './args.js';
import { scryptLnFromEnv, usageError, type CliContext } from './context.js';
import { requireConfig } from './load-config.js';
import { checkPasswordArgs, obtainPassword, type PasswordSource } from './password-input.js';

/** An invalid ADDRESS is a bad argument (exit 2), so it is checked before anything else happens. */
export function addressArg(args: ParsedArgs): string {
  try {
    return normalizeAddress(args.positionals.ADDRESS!);
  } catch (err) {
    if (isPostlineError(err, 'ERR_USER_INVALID')) throw usageError(err.message);
    throw err;
  }
}

function passwordSource(args: ParsedArgs): PasswordSource {
  return { password: stringOption(args, 'password'), stdin: flag(args, 'password-stdin') };
}

export async function runUserAdd(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const address = addressArg(args);
  const src = passwordSource(args);
  checkPasswordArgs(src);
  const ln = scryptLnFromEnv(ctx.env);
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  const password = await obtainPassword(ctx, src);
  const phc = await hashPassword(password, { ln });
  const { created } = await addUser(config.dataDir, address, phc);
  ctx.out(`user ${address} ${created ? 'created' : 'updated'}`);
  // Both are legitimate states, but almost always a mistake worth a word.
  if (config.users.some((u) => u.address === address)) {
    ctx.err(`postline: warning: ${address} is also defined in the config, which wins; the users.json entry is ignored`);
  }
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (!config.domains.includes(domain)) {
    ctx.err(`postline: warning: ${domain} is not in domains (${config.domains.join(', ')}); no mail is delivered to ${address}`);
  }
  return 0;
}

/** Needs no config: its output goes *into* a config, which may not be valid yet. */
export async function runUserHash(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const src = passwordSource(args);
  checkPasswordArgs(src);
  const ln = scryptLnFromEnv(ctx.env);
  const password = await obtainPassword(ctx, src);
  ctx.out(await hashPassword(password, { ln }));
  return 0;
}

export async function runUserDel(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const address = addressArg(args);
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  if (await deleteUser(config.dataDir, address)) {
    ctx.out(`user ${address} deleted`);
    return 0;
  }
  const inConfig = config.users.some((u) => u.address === address);
  ctx.err(`postline: user del: ${inConfig ? `${address} is defined in the config file; remove it there` : `no such user ${address}`}`);
  return 1;
}

/** One user per line: ADDRESS <tab> config|file <tab> created (or -). */
export async function runUserList(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  const merged = mergeUsers(config.users, await listUsers(config.dataDir));
  for (const u of merged.users) ctx.out(`${u.address}\t${u.source}\t${u.created ?? '-'}`);
  for (const w of merged.warnings) ctx.err(`postline: warning: ${w}`);
  return 0;
}
