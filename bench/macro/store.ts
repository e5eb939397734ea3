/**
 * Store benchmarks: append throughput (1 KB / 64 KB, 1 / 16 / 256 concurrent
 * writers, every fsync mode), read throughput, bytes on disk against raw size
 * on a realistic corpus, index bytes per message, restart time at 100k and
 * 1M messages. Each figure is checked for sanity before it is recorded.
 */
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { silentLogger } from '../../src/core/log.js';
import { Store } from '../../src/store/store.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { generateCorpus, SIZES } from '../corpus.js';
import { formatTable, type BenchContext } from '../lib/runner.js';

type Fsync = 'batch' | 'always' | 'off';

function tempData(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'postline-bench-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Flush and let the filesystem finish discarding deleted files before the next measurement. */
async function settleDisk(): Promise<void> {
  spawnSync('sync');
  await new Promise((r) => setTimeout(r, 500));
}

function logBytes(dataDir: string): number {
  const dir = join(dataDir, 'log');
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function open(dataDir: string, fsync: Fsync, pool: WorkerPool): Promise<Store> {
  return Store.open({ dataDir, segmentSize: 64 * 1024 * 1024, fsync, logger: silentLogger, pool, checkpointIntervalMs: 0, compactionIntervalMs: 0, checkpointEvery: 1e9 });
}

/** `writers` concurrent loops deliver `count` messages (cycling through `corpus`) to `users` users. */
async function appendLoad(store: Store, corpus: Buffer[], count: number, writers: number, users = 100): Promise<number> {
  let next = 0;
  const started = performance.now();
  const writer = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      await store.deliver({ recipients: [`user${i % users}@bench.example`], body: corpus[i % corpus.length]! });
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  return (performance.now() - started) / 1000;
}

export async function run(ctx: BenchContext): Promise<void> {
  const threads = 'auto' as const;
  const pool = new WorkerPool({ threads });
  const rows: Record<string, string | number>[] = [];
  try {
    // ---------------------------------------------------------- append throughput
    const corpora = {
      '1KB': generateCorpus({ count: 2000, seed: 1, size: SIZES['1k'] }),
      '64KB': generateCorpus({ count: 200, seed: 2, size: SIZES['64k'] }),
    };
    const plan: { size: keyof typeof corpora; fsync: Fsync; writers: number; count: number }[] = [];
    const counts = { '1KB': [2_000, 40_000, 150_000], '64KB': [1_000, 8_000, 12_000] } as const;
    // 1 KB first: the 64 KB runs write gigabytes whose deletion (ext4 discard)
    // slows the fsyncs of whatever runs next.
    for (const size of ['1KB', '64KB'] as const) {
      [1, 16, 256].forEach((writers, k) => plan.push({ size, fsync: 'batch', writers, count: ctx.quick ? Math.ceil(counts[size][k]! / 20) : counts[size][k]! }));
    }
    plan.push({ size: '1KB', fsync: 'always', writers: 256, count: ctx.quick ? 500 : 5_000 });
    plan.push({ size: '1KB', fsync: 'off', writers: 256, count: ctx.quick ? 3_000 : 150_000 });
    const runs = ctx.quick ? 1 : 3;
    for (const p of plan) {
      // Several runs, median reported: fsync latency on a shared disk varies from run to run.
      const rates: number[] = [];
      let perFsync = 0;
      for (let r = 0; r < (p.writers === 256 ? runs : 1); r++) {
        const dir = tempData();
        const store = await open(dir.path, p.fsync, pool);
        try {
          // Warm up the pool and the JIT so the figure is steady state.
          await appendLoad(store, corpora[p.size], Math.min(2000, p.count), p.writers);
          const f0 = store.stats().fsyncs;
          const secs = await appendLoad(store, corpora[p.size], p.count, p.writers);
          const fsyncs = store.stats().fsyncs - f0;
          if (p.fsync !== 'off' && fsyncs === 0) throw new Error('no fsync happened in a durable mode');
          rates.push(p.count / secs);
          perFsync = fsyncs ? p.count / fsyncs : 0;
        } finally {
          await store.close();
          dir.remove();
          await settleDisk();
        }
      }
      const rate = median(rates);
      const mbps = (rate * corpora[p.size][0]!.length) / 1048576;
      const name = `store/append ${p.size} fsync=${p.fsync} writers=${p.writers}`;
      ctx.recordResult(`${name} msg/s`, Math.round(rate), 'msg/s');
      ctx.recordResult(`${name} MB/s`, +mbps.toFixed(1), 'MB/s');
      rows.push({ test: name, 'msg/s': Math.round(rate), 'MB/s': mbps.toFixed(1), 'appends/fsync': perFsync ? perFsync.toFixed(1) : '-', runs: rates.map((x) => Math.round(x)).join(' ') });
    }

    // ---------------------------------------------------------- compression + index + reads
    // Disk bytes ÷ raw bytes on two generated corpora: text-heavy (plain and
    // HTML mail only) and mixed (60 % plain, 30 % HTML, 10 % with a base64
    // attachment of random — incompressible — bytes, which dominate the bytes).
    for (const [label, mix] of [
      ['text-heavy', { plain: 0.7, html: 0.3 }],
      ['mixed', undefined],
    ] as const) {
      const dir = tempData();
      const corpus = generateCorpus({ count: ctx.quick ? 500 : 5000, seed: 3, mix });
      const raw = corpus.reduce((n, m) => n + m.length, 0);
      const store = await open(dir.path, 'off', pool);
      try {
        await appendLoad(store, corpus, corpus.length, 64, 1);
        const onDisk = logBytes(dir.path);
        const ratio = onDisk / raw;
        if (!(ratio > 0.05 && ratio < 1.2)) throw new Error(`implausible compression ratio ${ratio}`);
        ctx.recordResult(`store/disk bytes ÷ raw bytes (${label} corpus)`, +ratio.toFixed(3), 'ratio', false);
        rows.push({ test: `disk ÷ raw, ${label} corpus: ${corpus.length} msgs, ${(raw / 1048576).toFixed(1)} MB raw`, 'msg/s': '', 'MB/s': '', 'appends/fsync': ratio.toFixed(3) });
        if (label === 'text-heavy') continue;

        const uids = store.listMessages('user0@bench.example', 'INBOX').map((m) => m.uid);
        const first = await store.readMessage('user0@bench.example', 'INBOX', uids[0]!);
        if (!first.equals(corpus[0]!)) throw new Error('read returned different bytes');
        for (const concurrency of [1, 32]) {
          let next = 0;
          let bytes = 0;
          const started = performance.now();
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              for (let i = next++; i < uids.length; i = next++) {
                const body = await store.readMessage('user0@bench.example', 'INBOX', uids[i]!);
                bytes += body.length; // after the await: `bytes += await …` would read a stale total
              }
            }),
          );
          const secs = (performance.now() - started) / 1000;
          const name = `store/read mixed corpus concurrency=${concurrency}`;
          ctx.recordResult(`${name} msg/s`, Math.round(uids.length / secs), 'msg/s');
          ctx.recordResult(`${name} MB/s`, +(bytes / secs / 1048576).toFixed(1), 'MB/s');
          rows.push({ test: name, 'msg/s': Math.round(uids.length / secs), 'MB/s': (bytes / secs / 1048576).toFixed(1), 'appends/fsync': '' });
        }
      } finally {
        await store.close();
        dir.remove();
      }
    }

    // ---------------------------------------------------------- restart time + index size
    const corpus1k = corpora['1KB'];
    for (const total of ctx.quick ? [20_000] : [100_000, 1_000_000]) {
      const dir = tempData();
      try {
        let store = await open(dir.path, 'off', pool);
        await appendLoad(store, corpus1k, total, 256, 1000);
        const stats = store.stats();
        if (stats.messages !== total) throw new Error(`expected ${total} messages, have ${stats.messages}`);
        const indexPerMessage = stats.indexBytes / stats.messages;
        ctx.recordResult(`store/index bytes per message at ${total}`, +indexPerMessage.toFixed(1), 'bytes', false);
        await store.close(); // writes the checkpoint

        let started = performance.now();
        store = await open(dir.path, 'off', pool);
        const withCheckpoint = performance.now() - started;
        if (store.stats().messages !== total || !store.recovery.checkpoint.startsWith('segment')) throw new Error('restart did not use the checkpoint');
        await store.close();
        ctx.recordResult(`store/restart with checkpoint at ${total} msgs`, Math.round(withCheckpoint), 'ms', false);

        rmSync(join(dir.path, 'index', 'checkpoint'));
        started = performance.now();
        store = await open(dir.path, 'off', pool);
        const fullReplay = performance.now() - started;
        if (store.stats().messages !== total) throw new Error('full replay lost messages');
        await store.close();
        ctx.recordResult(`store/restart by full replay at ${total} msgs`, Math.round(fullReplay), 'ms', false);
        rows.push({ test: `restart at ${total} msgs (index ${indexPerMessage.toFixed(1)} B/msg)`, 'msg/s': '', 'MB/s': '', 'appends/fsync': `${Math.round(withCheckpoint)} ms (full replay ${Math.round(fullReplay)} ms)` });
      } finally {
        dir.remove();
      }
    }
  } finally {
    await pool.destroy();
  }
  console.log(formatTable(rows));
}
