/**
 * A unit of work: the user's `data`, and once the run is over its final state — `accepted` with a
 * `result`, or `rejected` with a `reason`. The worker calls `acceptResult` / `rejectResult` on the
 * task it is working on; the Executor drives the rest (retries on other providers, timeouts).
 */
import { randomUUID } from "node:crypto";
import { AgoraError, UserError } from "../errors.js";

export type TaskStatus = "waiting" | "running" | "retrying" | "accepted" | "rejected";

/** What a worker's verdict on an attempt is, as the task queue hears it. */
export type TaskVerdict<R> =
  | { readonly kind: "accepted"; readonly result: R }
  | { readonly kind: "rejected"; readonly reason: Error; readonly retry: boolean };

/** Internal hooks (the queue binds them); not part of the public API. */
export const TASK_CONTROL = Symbol("agora.task.control");

export interface TaskControl<R> {
  /** Called with the worker's verdict on the current attempt. */
  onVerdict: ((verdict: TaskVerdict<R>) => void) | undefined;
  providerId: string | undefined;
  startedAt: number | undefined;
  readonly triedOn: Set<string>;
  attempts: number;
  /** Why the last attempt failed, while the task waits for a retry. */
  lastReason: Error | undefined;
  finish(status: "accepted" | "rejected", value: { result?: R; reason?: Error; runningTime: number }): void;
  setStatus(status: TaskStatus): void;
}

export class Task<D = unknown, R = unknown> {
  /** Unique in this process. */
  readonly id: string;
  readonly data: D;
  #status: TaskStatus = "waiting";
  #result: R | undefined;
  #reason: Error | undefined;
  #runningTime: number | undefined;
  readonly [TASK_CONTROL]: TaskControl<R>;

  constructor(data: D, opts: { id?: string } = {}) {
    this.id = opts.id ?? randomUUID();
    this.data = data;
    this[TASK_CONTROL] = {
      onVerdict: undefined,
      providerId: undefined,
      startedAt: undefined,
      triedOn: new Set(),
      attempts: 0,
      lastReason: undefined,
      finish: (status, value) => {
        this.#status = status;
        if (value.result !== undefined) this.#result = value.result;
        this.#reason = value.reason;
        this.#runningTime = value.runningTime;
      },
      setStatus: (status) => {
        this.#status = status;
      },
    };
  }

  /** `waiting` → `running` ⇄ `retrying` → `accepted` | `rejected`. */
  get status(): TaskStatus {
    return this.#status;
  }

  /** The value given to `acceptResult`, once accepted. */
  get result(): R | undefined {
    return this.#result;
  }

  /** Why the task was rejected (the last attempt's reason), once rejected. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** Ms from the first attempt's start to the final state; undefined before. */
  get runningTime(): number | undefined {
    return this.#runningTime;
  }

  /** Attempts made so far (1 + retries). */
  get attempts(): number {
    return this[TASK_CONTROL].attempts;
  }

  /** The provider of the current (or last) attempt. */
  get providerId(): string | undefined {
    return this[TASK_CONTROL].providerId;
  }

  get done(): boolean {
    return this.#status === "accepted" || this.#status === "rejected";
  }

  /** The worker is done with this task: it ends `accepted` with `result`. */
  acceptResult(result: R): void {
    this.#verdict({ kind: "accepted", result });
  }

  /**
   * The attempt failed. With `retry: true` (the default) the task is tried again on another
   * provider while retries remain; with `retry: false` it ends `rejected` now.
   */
  rejectResult(reason: string | Error, opts: { retry?: boolean } = {}): void {
    const err = typeof reason === "string" ? new AgoraError(reason, { taskId: this.id }) : reason;
    this.#verdict({ kind: "rejected", reason: err, retry: opts.retry ?? true });
  }

  #verdict(v: TaskVerdict<R>): void {
    const ctl = this[TASK_CONTROL];
    if (this.#status !== "running" || !ctl.onVerdict)
      throw new UserError(
        `task ${this.id} is ${this.#status}: only a running task can be accepted or rejected`,
        {
          taskId: this.id,
        },
      );
    const on = ctl.onVerdict;
    ctl.onVerdict = undefined;
    on(v);
  }

  toJSON(): { id: string; data: D; status: TaskStatus; result: R | undefined; reason: string | undefined } {
    return {
      id: this.id,
      data: this.data,
      status: this.#status,
      result: this.#result,
      reason: this.#reason?.message,
    };
  }
}
