/**
 * Drives one worker generator on one activity: hands it tasks from the queue as it asks, runs the
 * batches it yields, sends their results back in (or throws `CommandExecutionError` /
 * `BatchTimeoutError` into it), enforces the per-task timeout, and says how the worker ended.
 */
import type { Logger } from "pino";
import { settleWithin } from "./bounded.js";
import {
  AbortError,
  AgoraError,
  BatchTimeoutError,
  CommandExecutionError,
  ProviderError,
  TimeoutError,
  UserError,
} from "../errors.js";
import type { BatchResult, CommandEvent } from "./activity-client.js";
import type { Batch } from "./batch.js";
import type { ExecutorEvent } from "./events.js";
import type { Task } from "./task.js";
import type { TaskQueue } from "./task-queue.js";
import { PendingBatch, WorkContext, type BatchResults, type CommandOutput } from "./work-context.js";

/** A worker: an async generator over the tasks for one provider, yielding `ctx.commit()`. */
export type Worker<D, R> = (
  ctx: WorkContext,
  tasks: AsyncIterable<Task<D, R>>,
) => AsyncGenerator<PendingBatch, unknown, BatchResults>;

/** An activity ready for batches (the Executor's implementation wraps ActivityClient). */
export interface ActivitySession {
  readonly providerId: string;
  readonly providerName: string;
  readonly agreementId: string;
  readonly activityId: string;
  exec(
    batch: Batch,
    opts: { timeoutMs: number; signal: AbortSignal; onEvent: (e: CommandEvent) => void },
  ): Promise<BatchResult>;
}

/**
 * How a worker ended: `done` (no more tasks for it), `worker-error` (it threw or misbehaved; its
 * task was retried), `provider-failed` (the provider or its activity failed: do not reuse it),
 * `stopped` (the run is ending).
 */
export type WorkerEnd =
  | { readonly kind: "done" }
  | { readonly kind: "worker-error"; readonly error: Error }
  | { readonly kind: "provider-failed"; readonly error: Error }
  | { readonly kind: "stopped" };

export interface DriveOptions<D, R> {
  readonly worker: Worker<D, R>;
  readonly session: ActivitySession;
  readonly queue: TaskQueue<D, R>;
  /** Aborted when the worker must stop; a ProviderError reason means the provider is lost. */
  readonly signal: AbortSignal;
  readonly taskTimeoutMs: number | undefined;
  readonly emit: (event: ExecutorEvent) => void;
  readonly logger: Logger;
  /** Bound on the generator's cleanup (`return()`). @default 5_000 */
  readonly cleanupMs?: number;
}

type Input =
  | { readonly ok: true; readonly value: BatchResults | undefined }
  | { readonly ok: false; readonly error: Error };

let batchCounter = 0;

export async function driveWorker<D, R>(o: DriveOptions<D, R>): Promise<WorkerEnd> {
  const { session, queue, emit } = o;
  const ids = {
    providerId: session.providerId,
    agreementId: session.agreementId,
    activityId: session.activityId,
  };
  const log = o.logger.child(ids);
  let current: Task<D, R> | undefined;
  let taskTimer: NodeJS.Timeout | undefined;
  let taskAbort = new AbortController();
  const settleCurrent = (verdict: "auto-accept" | Error, retry = true): void => {
    clearTimeout(taskTimer);
    const t = current;
    current = undefined;
    if (!t || t.status !== "running") return;
    if (verdict === "auto-accept") {
      log.warn({ taskId: t.id }, "the worker moved on without accepting or rejecting its task: accepted");
      t.acceptResult(undefined as R);
    } else t.rejectResult(verdict, { retry });
  };
  const tasks: AsyncIterable<Task<D, R>> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Task<D, R>>> => {
        settleCurrent("auto-accept");
        const t = await queue.take(session.providerId, o.signal);
        if (!t) return { done: true, value: undefined };
        current = t;
        if (log.isLevelEnabled("debug"))
          log.child({ taskId: t.id }).debug({ attempt: t.attempts }, "task started");
        taskAbort = new AbortController();
        if (o.taskTimeoutMs !== undefined) {
          const ms = o.taskTimeoutMs;
          const ctl = taskAbort;
          taskTimer = setTimeout(
            () =>
              ctl.abort(new TimeoutError(`task ${t.id} timed out after ${ms} ms`, { taskId: t.id, ...ids })),
            ms,
          );
        }
        return { done: false, value: t };
      },
      return: (): Promise<IteratorResult<Task<D, R>>> => Promise.resolve({ done: true, value: undefined }),
    }),
  };
  const ctx = new WorkContext({ ...session, signal: o.signal, log });
  const gen = o.worker(ctx, tasks);
  let input: Input = { ok: true, value: undefined };
  const end = async (result: WorkerEnd, taskReason?: Error): Promise<WorkerEnd> => {
    if (taskReason) settleCurrent(taskReason, true);
    await settleWithin(
      gen.return(undefined).catch((err: unknown) => log.debug({ err }, "the worker's cleanup threw")),
      o.cleanupMs ?? 5_000,
    );
    settleCurrent(new ProviderError("the worker ended without a verdict on its task", ids), true);
    return result;
  };
  try {
    for (;;) {
      let step: IteratorResult<PendingBatch, unknown>;
      try {
        step = input.ok ? await gen.next(input.value as BatchResults) : await gen.throw(input.error);
      } catch (err) {
        const error = err instanceof Error ? err : new UserError(`the worker threw ${String(err)}`);
        if (o.signal.aborted) return await end({ kind: "stopped" }, stopReason(o.signal));
        log.info({ err: error, taskId: current?.id }, "the worker threw; its task will be retried");
        return await end({ kind: "worker-error", error }, error);
      }
      if (step.done) {
        if (o.signal.aborted) return await end({ kind: "stopped" }, stopReason(o.signal));
        return await end(
          { kind: "done" },
          new UserError("the worker returned before accepting or rejecting its task"),
        );
      }
      if (!(step.value instanceof PendingBatch)) {
        const error = new UserError("a worker must yield ctx.commit() (got something else)");
        return await end({ kind: "worker-error", error }, error);
      }
      const pending = step.value;
      const batchNo = ++batchCounter;
      const taskId = current?.id;
      const started = performance.now();
      emit({ type: "batch.sent", batchNo, ...ids, taskId, commands: pending.batch.steps.length });
      let result: BatchResult;
      const signal = AbortSignal.any([o.signal, taskAbort.signal]);
      try {
        result = await session.exec(pending.batch, {
          timeoutMs: pending.timeoutMs,
          signal,
          onEvent: (e) => {
            if (e.type === "command.started")
              emit({ type: "command.started", ...commandIds(ids), index: e.index, command: e.command });
            else if (e.type === "command.finished")
              emit({ type: "command.finished", ...commandIds(ids), index: e.index, exitCode: e.exitCode });
          },
        });
      } catch (err) {
        const reason = failureReason(err, o.signal, taskAbort.signal, ids);
        emit({ type: "batch.failed", batchNo, ...ids, taskId, reason: reason.message });
        if (o.signal.aborted) return await end({ kind: "stopped" }, reason);
        if (taskAbort.signal.aborted) return await end({ kind: "worker-error", error: reason }, reason);
        log.warn({ err: reason }, "the batch failed on the provider's side");
        return await end({ kind: "provider-failed", error: reason }, reason);
      }
      const durationMs = performance.now() - started;
      emit({ type: "batch.finished", batchNo, ...ids, taskId, ok: result.ok, durationMs });
      input = toInput(pending, result, { ...ids, ...(taskId ? { taskId } : {}) });
    }
  } finally {
    clearTimeout(taskTimer);
  }
}

function commandIds(ids: { providerId: string; activityId: string }) {
  return { activityId: ids.activityId, providerId: ids.providerId };
}

function stopReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new AbortError("the worker was stopped");
}

function failureReason(
  err: unknown,
  worker: AbortSignal,
  task: AbortSignal,
  ids: { providerId: string; agreementId: string; activityId: string },
): Error {
  if (worker.aborted) return stopReason(worker);
  if (task.aborted) return stopReason(task);
  if (err instanceof TimeoutError)
    return new ProviderError(`the provider did not finish the batch: ${err.message}`, { ...ids, cause: err });
  if (err instanceof AgoraError && !(err instanceof ProviderError) && err.code === "USER_ERROR") return err;
  const msg = err instanceof Error ? err.message : String(err);
  return err instanceof ProviderError
    ? err
    : new ProviderError(`the batch failed: ${msg}`, { ...ids, cause: err });
}

/** The results to send into the generator, or the error to throw into it. */
function toInput(
  pending: PendingBatch,
  result: BatchResult,
  ctx: { providerId: string; agreementId: string; activityId: string; taskId?: string },
): Input {
  const outputs: CommandOutput[] = [];
  for (const r of result.results) {
    const out: CommandOutput = {
      index: r.index,
      command: pending.labels[r.index] ?? `#${r.index}`,
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      ...(r.bytes ? { bytes: r.bytes } : {}),
      ...(r.file ? { file: r.file } : {}),
    };
    if (pending.jsonSteps.has(r.index) && r.bytes && result.ok) {
      try {
        outputs.push({ ...out, json: JSON.parse(Buffer.from(r.bytes).toString("utf8")) as unknown });
      } catch (err) {
        return {
          ok: false,
          error: new CommandExecutionError(
            { command: out.command, exitCode: 0, stdout: "", stderr: `not JSON: ${(err as Error).message}` },
            ctx,
          ),
        };
      }
    } else outputs.push(out);
  }
  if (result.ok) return { ok: true, value: outputs };
  const message = result.message ?? "the batch failed";
  if (/timed out after/.test(message)) return { ok: false, error: new BatchTimeoutError(message, ctx) };
  const failed = outputs.find((r) => r.exitCode !== 0) ?? outputs.at(-1);
  const detail = failed?.stderr || (result.results[failed?.index ?? -1]?.message ?? message);
  return {
    ok: false,
    error: new CommandExecutionError(
      {
        command: failed?.command ?? "batch",
        exitCode: failed?.exitCode ?? -1,
        stdout: failed?.stdout ?? "",
        stderr: detail,
      },
      ctx,
    ),
  };
}
