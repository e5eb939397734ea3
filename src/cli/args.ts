/**
 * The shape of a CLI command and the one place arguments are parsed
 * (node:util parseArgs, strict), so every command reports bad arguments with
 * the same wording on node and on Bun.
 */
import { parseArgs } from 'node:util';
import { usageError, type CliContext } from './context.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  /** Required positionals by their usage name (e.g. ADDRESS). */
  positionals: Record<string, string>;
}

export interface CommandSpec {
  /** One word, or "group sub" (e.g. "user add"). */
  name: string;
  /** Shown by help, after "postline ". */
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Required positionals, in order; no command takes optional or extra ones. */
  positionals: string[];
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string' },
  help: { type: 'boolean' },
};

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Parses a command's arguments; throws ERR_CLI_USAGE naming the first problem. `help` is set when --help was given. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs & { help: boolean } {
  const options = { ...COMMON_OPTIONS, ...spec.options };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' own messages are multi-line and differ between runtimes;
    // strict parsing decides *whether* the arguments are bad, this names *why*.
    throw usageError(describeParseError(argv, options) ?? String((err as Error).message).split('\n')[0]!);
  }
  const help = parsed.values.help === true;
  const positionals: Record<string, string> = {};
  if (!help) {
    spec.positionals.forEach((name, i) => {
      const value = parsed.positionals[i];
      if (value === undefined) throw usageError(`missing ${name}`);
      positionals[name] = value;
    });
    const extra = parsed.positionals[spec.positionals.length];
    if (extra !== undefined) throw usageError(`unexpected argument "${extra}"`);
  }
  return { values: parsed.values, positionals, help };
}

function describeParseError(argv: string[], options: Record<string, OptionSpec>): string | null {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (!spec) return `unknown option ${token.rawName}`;
    if (spec.type === 'boolean' && token.value !== undefined) return `option --${token.name} takes no value`;
    if (spec.type === 'string') {
      // A following "-x" is taken as the value by lenient parsing but refused
      // by strict parsing (ambiguous); either way the value is missing.
      const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('-'));
      if (missing) return `option --${token.name} needs a value`;
    }
  }
  return null;
}

export function formatHelp(table: readonly CommandSpec[]): string[] {
  const width = Math.max(...table.map((c) => c.usage.length));
  return [
    'usage: postline COMMAND [options]',
    '',
    'commands:',
    ...table.map((c) => `  postline ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --config FILE (default: $POSTLINE_CONFIG, else ./postline.yaml',
    'if present, else the embedded default) and --help.',
  ];
}
