/** Config loading for commands that need it (kept apart from context.ts so `--version` or a typo never loads the schema). */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { CliExit, type CliContext } from './context.js';

export interface LoadedConfig {
  config: Readonly<Config>;
  warnings: string[];
  source: string;
}

/** Loads the config (`--config FILE`, else POSTLINE_CONFIG, ./postline.yaml, embedded default); on errors prints each one and exits 1. */
export function requireConfig(ctx: CliContext, file: string | undefined): LoadedConfig {
  const result = readConfig(ctx, file);
  if (!result.ok) {
    for (const line of result.errors) ctx.err(line);
    ctx.err(`postline: invalid config (${result.source}): ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`);
    throw new CliExit(1);
  }
  return { config: result.config, warnings: result.warnings, source: result.source };
}

/** The same lookup as requireConfig, without exiting: `serve` re-reads its config on SIGHUP. */
export function readConfig(ctx: CliContext, file: string | undefined): ReturnType<typeof loadConfig> {
  return loadConfig({
    ...(file !== undefined ? { file: resolve(ctx.cwd, file) } : {}),
    cwd: ctx.cwd,
    env: ctx.env,
  });
}
