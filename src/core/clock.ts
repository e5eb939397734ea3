/** Injected time source: protocol timers and timestamps go through this so tests can use a fake clock. */
export interface Clock {
  now(): number;
  /** Node's and Bun's timers have refresh(): the same timer restarted, no new one made. */
  setTimeout(fn: () => void, ms: number): { unref?(): unknown; ref?(): unknown; refresh?(): unknown } & object;
  clearTimeout(handle: object): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
