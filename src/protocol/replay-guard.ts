/**
 * Remembers the ids of accepted messages while their `ts` is inside the skew window, so a
 * message is accepted at most once. Memory is bounded: when full, the oldest ids are evicted and
 * the guard raises its floor, refusing any message not newer than an evicted one (safe, never
 * lets a replay through; under a flood the effective window shrinks).
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #capacity: number;
  readonly #windowMs: number;
  #floor = Number.NEGATIVE_INFINITY;

  constructor(opts: { windowMs: number; capacity?: number }) {
    this.#windowMs = opts.windowMs;
    this.#capacity = opts.capacity ?? 100_000;
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** Messages with `ts` at or below this are refused because newer ids had to be evicted. */
  get floor(): number {
    return this.#floor;
  }

  /** Would `id`/`ts` be accepted? Does not record anything. */
  check(id: string, ts: number): "ok" | "replay" | "evicted" {
    if (this.#seen.has(id)) return "replay";
    if (ts <= this.#floor) return "evicted";
    return "ok";
  }

  /** Record an accepted message. Call only after `check` said "ok" and the message verified. */
  remember(id: string, ts: number, now: number): void {
    this.#prune(now);
    while (this.#seen.size >= this.#capacity) {
      const oldest = this.#seen.entries().next();
      if (oldest.done) break;
      this.#seen.delete(oldest.value[0]);
      this.#floor = Math.max(this.#floor, oldest.value[1]);
    }
    this.#seen.set(id, ts);
  }

  /** Forget ids whose `ts` has left the window (the skew check refuses them anyway). */
  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    for (const [id, ts] of this.#seen) {
      if (ts >= cutoff) break;
      this.#seen.delete(id);
    }
  }
}
