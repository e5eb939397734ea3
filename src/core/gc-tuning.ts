/**
 * Node flags for a `postline serve` process. They must be on the command
 * line (V8 reads them when it builds the heap: v8.setFlagsFromString at
 * startup was tried and changed nothing), so every launcher passes them:
 * package.json's start script, the Dockerfile's ENTRYPOINT, the `postline`
 * executable's shebang, and the benchmarks that start a server.
 *
 * --no-memory-reducer: V8's memory reducer starts full (mark-compact)
 * collections whenever the process looks idle, to give memory back. A mail
 * server answering one command at a time looks idle between commands: with
 * a POP3 client that sends one RETR at a time it ran 13–14 full
 * collections over three 10,000-message downloads instead of 1–3, ~14 % of
 * the main thread in perf (2026-11-28, docs/benchmarks.md). Collections
 * driven by allocation run as before; only the "idle, shrink the heap" ones
 * stop, so a heap that grew in a burst is returned at the next ordinary
 * collection rather than proactively.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** SERVER_NODE_FLAGS for a child started with process.execPath: none under Bun, which has no V8 flags. */
export function serverNodeFlags(): string[] {
  return process.versions.bun === undefined ? [...SERVER_NODE_FLAGS] : [];
}
