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
 *
 * --initial-old-space-size=128: V8 starts an incremental mark-compact
 * whenever the room left under the old generation's limit is smaller than
 * the young generation. With postline's ~20 MB heap, the limit V8 computed
 * after a collection was sometimes ~41 MB, which a busy young generation
 * keeps in reach: a full collection every ~130 ms, as long as the load
 * lasts (25–30 mark-compacts in three one-RETR-at-a-time downloads, in 3
 * of 4 runs; the same runs 0 with this flag, in 4 of 4). Starting the
 * limit at 128 MB keeps the heap out of that loop; the cost is that up to
 * ~128 MB of old-space garbage may wait for its first collection.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--initial-old-space-size=128'];

/** SERVER_NODE_FLAGS for a child started with process.execPath: none under Bun, which has no V8 flags. */
export function serverNodeFlags(): string[] {
  return process.versions.bun === undefined ? [...SERVER_NODE_FLAGS] : [];
}
