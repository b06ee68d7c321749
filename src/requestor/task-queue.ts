/**
 * The tasks of one `submit`: read lazily from the user's (async) iterable — one task read ahead at
 * most, only when a worker asks — handed to workers, retried on a provider that has not tried them
 * yet, and reported once final. Nothing here knows about the market or activities.
 */
import type { Logger } from "pino";
import { AgoraError, UserError } from "../errors.js";
import type { ExecutorEvent } from "./events.js";
import { Task, TASK_CONTROL, type TaskVerdict } from "./task.js";

/** At most this many unread tasks of a synchronous source are reported when the queue closes. */
const MAX_DRAINED = 100_000;

export interface TaskQueueOptions {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  readonly emit: (event: ExecutorEvent) => void;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

export class TaskQueue<D, R> {
  readonly #opts: TaskQueueOptions;
  readonly #now: () => number;
  #iterator: Iterator<Task<D, R>> | AsyncIterator<Task<D, R>> | undefined;
  #reading: Promise<void> | undefined;
  #exhausted = false;
  readonly #pending: Task<D, R>[] = [];
  readonly #running = new Set<Task<D, R>>();
  readonly #finals: Task<D, R>[] = [];
  readonly #seen = new Set<string>();
  #accepted = 0;
  #rejected = 0;
  #closed: Error | undefined;
  readonly #sync: boolean;
  #wakeUp: () => void = () => undefined;
  #changed: Promise<void>;

  constructor(source: Iterable<Task<D, R>> | AsyncIterable<Task<D, R>>, opts: TaskQueueOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#sync = !(Symbol.asyncIterator in source);
    this.#iterator =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    this.#changed = this.#nextChange();
  }

  get accepted(): number {
    return this.#accepted;
  }

  get rejected(): number {
    return this.#rejected;
  }

  /** Tasks in flight now. */
  get running(): number {
    return this.#running.size;
  }

  /** Every task read is final and the source is exhausted (or the queue was closed). */
  get finished(): boolean {
    return (
      this.#closed !== undefined ||
      (this.#exhausted && this.#pending.length === 0 && this.#running.size === 0)
    );
  }

  /** Why the queue was closed early, if it was. */
  get closedWith(): Error | undefined {
    return this.#closed;
  }

  /** Whether a worker on `providerId` could get a task (now or once the source is read). */
  wants(providerId: string): boolean {
    if (this.#closed) return false;
    return !this.#exhausted || this.#pending.some((t) => !t[TASK_CONTROL].triedOn.has(providerId));
  }

  /** Whether more workers would help: tasks wait, or the source may hold more. */
  get needsWorkers(): boolean {
    return this.#closed === undefined && (!this.#exhausted || this.#pending.length > 0);
  }

  /** Providers every waiting task has already tried (a new provider must be someone else). */
  get waitingTasks(): readonly Task<D, R>[] {
    return this.#pending;
  }

  /**
   * The next task `providerId` may run, started (status `running`, verdict hooks bound to
   * `onVerdict`); undefined when there is nothing more for this provider.
   */
  async take(providerId: string, signal: AbortSignal): Promise<Task<D, R> | undefined> {
    for (;;) {
      if (this.#closed || signal.aborted) return undefined;
      const i = this.#pending.findIndex((t) => !t[TASK_CONTROL].triedOn.has(providerId));
      if (i >= 0) {
        const [task] = this.#pending.splice(i, 1);
        if (task) return this.#start(task, providerId);
      }
      if (!this.#exhausted) {
        await this.#readOne();
        continue;
      }
      if (this.#running.size === 0) return undefined;
      await this.#waitForChange(signal);
    }
  }

  /** Settle the current attempt of `task` (a running one) with a verdict. */
  settle(task: Task<D, R>, verdict: TaskVerdict<R>): void {
    const ctl = task[TASK_CONTROL];
    if (!this.#running.delete(task)) return; // already final (closed) or settled
    ctl.onVerdict = undefined;
    const providerId = ctl.providerId ?? "";
    const runningTime = this.#now() - (ctl.startedAt ?? this.#now());
    if (verdict.kind === "accepted") {
      ctl.finish("accepted", { result: verdict.result, runningTime });
      this.#accepted++;
      this.#opts.emit({ type: "task.accepted", taskId: task.id, providerId, runningTimeMs: runningTime });
      this.#final(task);
      return;
    }
    const reason = verdict.reason;
    if (verdict.retry && ctl.attempts <= this.#opts.maxRetries) {
      ctl.lastReason = reason;
      ctl.setStatus("retrying");
      this.#pending.unshift(task);
      this.#opts.emit({
        type: "task.retried",
        taskId: task.id,
        providerId,
        attempt: ctl.attempts,
        reason: reason.message,
      });
      this.#wake();
      return;
    }
    this.#reject(task, reason, providerId, runningTime);
  }

  /**
   * Reject the waiting tasks that failed before (with their last reason) when no provider that has
   * not tried them can be found: they would otherwise wait for the computation's timeout.
   * Returns how many were rejected.
   */
  rejectStranded(why: string): number {
    const stranded = this.#pending.filter((t) => t[TASK_CONTROL].attempts > 0);
    for (const task of stranded) {
      const ctl = task[TASK_CONTROL];
      this.#pending.splice(this.#pending.indexOf(task), 1);
      const last = ctl.lastReason;
      const reason = new AgoraError(`${last?.message ?? "failed"} (${why})`, {
        taskId: task.id,
        cause: last,
      });
      this.#reject(task, reason, ctl.providerId, this.#now() - (ctl.startedAt ?? this.#now()));
    }
    return stranded.length;
  }

  /**
   * End early: every task not yet final ends `rejected` with `reason` (reported like the others).
   * The rest of a synchronous source (an array) is read and reported rejected too; an async source
   * is not read further (it may be endless): its unread tasks were never submitted.
   */
  close(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    const now = this.#now();
    for (const task of [...this.#running, ...this.#pending]) {
      const ctl = task[TASK_CONTROL];
      ctl.onVerdict = undefined;
      this.#reject(task, reason, ctl.providerId, ctl.startedAt === undefined ? 0 : now - ctl.startedAt);
    }
    this.#running.clear();
    this.#pending.length = 0;
    const it = this.#iterator;
    this.#iterator = undefined;
    if (it && this.#sync && !this.#reading) this.#drainUnread(it as Iterator<Task<D, R>>, reason);
    else if (it?.return) void Promise.resolve(it.return()).catch(() => undefined);
    this.#wake();
  }

  /** A synchronous source (an array…) is reported in full: unread tasks end rejected too. */
  #drainUnread(it: Iterator<Task<D, R>>, reason: Error): void {
    try {
      for (let i = 0; i < MAX_DRAINED; i++) {
        const r = it.next();
        if (r.done) return;
        if (!(r.value instanceof Task) || this.#seen.has(r.value.id)) continue;
        this.#seen.add(r.value.id);
        this.#reject(r.value, reason, undefined, 0);
      }
      it.return?.();
    } catch (err) {
      this.#opts.logger.debug({ err }, "reading the rest of the tasks failed");
    }
  }

  /**
   * The tasks in their final state, as they get there; ends when all are final. After `close`,
   * ends (once the rejected tasks are drained) with the close reason thrown.
   */
  async *outcomes(): AsyncGenerator<Task<D, R>, void, undefined> {
    for (;;) {
      const t = this.#finals.shift();
      if (t) {
        yield t;
        continue;
      }
      if (this.#closed) throw this.#closed;
      if (this.finished) return;
      // Nothing in hand: learn whether the source is over (reads at most one task ahead).
      if (!this.#exhausted && this.#pending.length === 0 && this.#running.size === 0) void this.#readOne();
      await this.#changed;
    }
  }

  /** Resolve on the next change (a task settled, read, or the queue closed). */
  changed(): Promise<void> {
    return this.#changed;
  }

  #start(task: Task<D, R>, providerId: string): Task<D, R> {
    const ctl = task[TASK_CONTROL];
    ctl.attempts++;
    ctl.triedOn.add(providerId);
    ctl.providerId = providerId;
    ctl.startedAt ??= this.#now();
    ctl.setStatus("running");
    ctl.onVerdict = (v) => this.settle(task, v);
    this.#running.add(task);
    this.#opts.emit({ type: "task.started", taskId: task.id, providerId, attempt: ctl.attempts });
    return task;
  }

  #reject(task: Task<D, R>, reason: Error, providerId: string | undefined, runningTime: number): void {
    task[TASK_CONTROL].finish("rejected", { reason, runningTime });
    this.#rejected++;
    this.#opts.emit({ type: "task.rejected", taskId: task.id, providerId, reason: reason.message });
    this.#final(task);
  }

  #final(task: Task<D, R>): void {
    this.#finals.push(task);
    this.#wake();
  }

  #readOne(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const it = this.#iterator;
        if (!it) {
          this.#exhausted = true;
          return;
        }
        const r = await it.next();
        if (r.done) {
          this.#exhausted = true;
          return;
        }
        const task = r.value;
        if (this.#closed && task instanceof Task) {
          this.#reject(task, this.#closed, undefined, 0);
          return;
        }
        if (!(task instanceof Task))
          throw new UserError(
            `submit() takes Task objects; got ${describe(task)} (wrap data in new Task(data))`,
          );
        if (this.#seen.has(task.id) || task.status !== "waiting")
          throw new UserError(`task ${task.id} was submitted twice`, { taskId: task.id });
        this.#seen.add(task.id);
        this.#opts.emit({ type: "task.submitted", taskId: task.id });
        this.#pending.push(task);
      } catch (err) {
        this.#exhausted = true;
        const reason =
          err instanceof AgoraError ? err : new UserError("reading the tasks failed", { cause: err });
        this.#opts.logger.warn({ err }, "the task source failed");
        this.close(reason);
      } finally {
        this.#reading = undefined;
        this.#wake();
      }
    })();
    return this.#reading;
  }

  #nextChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wakeUp = resolve;
    });
  }

  #wake(): void {
    const wake = this.#wakeUp;
    this.#changed = this.#nextChange();
    wake();
  }

  async #waitForChange(signal: AbortSignal): Promise<void> {
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        this.#changed,
        new Promise<void>((resolve) => {
          onAbort = resolve;
          signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  return `a ${typeof value}`;
}
