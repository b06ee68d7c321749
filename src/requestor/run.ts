/**
 * One `submit`: keeps up to `maxWorkers` workers busy — idle agreements first, then market rounds —
 * each worker on a fresh activity; ends when every task is final, or early (deadline, abort,
 * shutdown) with the unfinished tasks rejected with the reason.
 */
import type { Logger } from "pino";
import { settleWithin } from "./bounded.js";
import { ProviderError } from "../errors.js";
import type { AgreementPool, PooledAgreement } from "./agreement-pool.js";
import { Batch } from "./batch.js";
import type { ExecutorEvent } from "./events.js";
import type { RequestorNode } from "./requestor-node.js";
import type { TaskQueue } from "./task-queue.js";
import { driveWorker, type ActivitySession, type Worker, type WorkerEnd } from "./worker.js";

export interface RunParts<D, R> {
  readonly node: RequestorNode;
  readonly pool: AgreementPool;
  readonly queue: TaskQueue<D, R>;
  readonly worker: Worker<D, R>;
  readonly maxWorkers: number;
  readonly taskTimeoutMs: number | undefined;
  readonly emit: (event: ExecutorEvent) => void;
  readonly logger: Logger;
  /** Bound on waiting for workers once the run is stopped. */
  readonly graceMs: number;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 5_000;
/** Market rounds with no new provider (and nothing running) before failed tasks stop waiting. */
const STRANDED_ROUNDS = 3;

export class Run<D, R> {
  readonly #p: RunParts<D, R>;
  readonly #stop = new AbortController();
  readonly #workers = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  #negotiating: Promise<void> | undefined;
  #nextRoundAt = 0;
  #backoffMs = MIN_BACKOFF_MS;
  #emptyRounds = 0;
  #wakeUp: () => void = () => undefined;
  #loop: Promise<void> | undefined;
  readonly #offLost: () => void;

  constructor(parts: RunParts<D, R>) {
    this.#p = parts;
    this.#offLost = parts.pool.onLost((agreementId, termination) => {
      const w = this.#workers.get(agreementId);
      w?.ctl.abort(
        new ProviderError(
          `the provider terminated the agreement: ${termination.reason}${termination.message ? ` (${termination.message})` : ""}`,
          { agreementId },
        ),
      );
    });
  }

  /** Start keeping workers busy; resolves when every task is final or the run was stopped. */
  start(): Promise<void> {
    this.#loop ??= this.#run().finally(() => this.#offLost());
    return this.#loop;
  }

  /** End early: unfinished tasks end rejected with `reason`; workers stop (bounded). */
  async stop(reason: Error): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#p.queue.close(reason);
      this.#stop.abort(reason);
      for (const w of this.#workers.values()) w.ctl.abort(reason);
      this.#wake();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { queue, pool, maxWorkers } = this.#p;
    while (!queue.finished && !this.#stop.signal.aborted) {
      while (this.#workers.size < maxWorkers && queue.needsWorkers) {
        const idle = pool.takeIdle((id) => queue.wants(id));
        if (!idle) break;
        this.#startWorker(idle);
      }
      const missing = maxWorkers - this.#workers.size;
      const now = Date.now();
      if (missing > 0 && queue.needsWorkers && !this.#negotiating && now >= this.#nextRoundAt)
        this.#negotiating = this.#round(missing).finally(() => {
          this.#negotiating = undefined;
          this.#wake();
        });
      const wait = this.#nextRoundAt > now ? this.#nextRoundAt - now : undefined;
      await this.#waitForChange(wait);
    }
    // Finished (or stopped): workers end on their own (no more tasks) or by their aborted signal.
    await settleWithin(
      Promise.all([...this.#workers.values()].map((w) => w.done)),
      this.#stop.signal.aborted ? this.#p.graceMs : 2 ** 31 - 1,
    );
    await settleWithin(this.#negotiating ?? Promise.resolve(), this.#p.graceMs);
  }

  async #round(missing: number): Promise<void> {
    try {
      const got = await this.#p.pool.negotiate(missing, this.#stop.signal);
      for (const p of got) {
        if (this.#stop.signal.aborted || !this.#p.queue.needsWorkers) await this.#p.pool.release(p);
        else this.#startWorker(p);
      }
      if (got.length === 0) {
        this.#nextRoundAt = Date.now() + this.#backoffMs;
        this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
        this.#strandedCheck();
      } else {
        this.#backoffMs = MIN_BACKOFF_MS;
        this.#emptyRounds = 0;
      }
    } catch (err) {
      if (!this.#stop.signal.aborted) this.#p.logger.warn({ err }, "a market round failed");
      this.#nextRoundAt = Date.now() + this.#backoffMs;
    }
  }

  /**
   * Tasks that failed on every provider we could find would wait for the computation's timeout:
   * after a few market rounds with nobody new and nothing running, they end rejected.
   */
  #strandedCheck(): void {
    if (this.#workers.size > 0 || this.#p.queue.running > 0) {
      this.#emptyRounds = 0;
      return;
    }
    if (++this.#emptyRounds < STRANDED_ROUNDS) return;
    const n = this.#p.queue.rejectStranded("no other provider could be found to retry it on");
    if (n > 0) this.#p.logger.warn({ tasks: n }, "tasks rejected: no other provider to retry them on");
    this.#emptyRounds = 0;
  }

  #startWorker(p: PooledAgreement): void {
    const ctl = new AbortController();
    const id = p.agreement.agreementId;
    const done = this.#work(p, ctl.signal)
      .catch((err: unknown) => this.#p.logger.error({ err, agreementId: id }, "a worker slot failed"))
      .finally(() => {
        this.#workers.delete(id);
        this.#wake();
      });
    this.#workers.set(id, { ctl, done });
  }

  async #work(p: PooledAgreement, signal: AbortSignal): Promise<void> {
    const { node, pool, emit } = this.#p;
    const { agreementId, providerId } = p.agreement;
    const log = this.#p.logger.child({ agreementId, providerId });
    let activityId: string | undefined;
    let end: WorkerEnd;
    try {
      const activity = await node.activities.create(p.agreement, { timeoutMs: 300_000, signal });
      activityId = activity.activityId;
      emit({ type: "activity.created", activityId, agreementId, providerId });
      const started = await node.activities.exec(activity, new Batch().deploy().start(), {
        timeoutMs: 120_000,
        signal,
      });
      if (!started.ok) throw new ProviderError(`the activity did not start: ${started.message ?? "unknown"}`);
      const session: ActivitySession = {
        providerId,
        providerName: p.providerName,
        agreementId,
        activityId,
        exec: (batch, o) => node.activities.exec(activity, batch, o),
      };
      end = await driveWorker({
        worker: this.#p.worker,
        session,
        queue: this.#p.queue,
        signal,
        taskTimeoutMs: this.#p.taskTimeoutMs,
        emit,
        logger: log,
      });
      await node.activities
        .destroy(activity, { timeoutMs: 10_000 })
        .then(() =>
          emit({ type: "activity.destroyed", activityId: activity.activityId, agreementId, providerId }),
        )
        .catch((err: unknown) => log.debug({ err }, "destroying the activity failed"));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!signal.aborted) log.warn({ err }, "the activity failed");
      end = signal.aborted
        ? { kind: "stopped" }
        : { kind: "provider-failed", error: err instanceof Error ? err : new ProviderError(reason) };
    }
    if (end.kind === "provider-failed") {
      emit({ type: "activity.failed", activityId, agreementId, providerId, reason: end.error.message });
      await pool.release(p, { failed: end.error.message });
    } else await pool.release(p);
  }

  #wake(): void {
    this.#wakeUp();
  }

  async #waitForChange(ms: number | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#p.queue.changed(),
        new Promise<void>((resolve) => {
          this.#wakeUp = resolve;
          if (ms !== undefined) timer = setTimeout(resolve, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.#wakeUp = () => undefined;
    }
  }
}
