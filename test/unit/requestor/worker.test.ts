import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BatchTimeoutError, CommandExecutionError, ProviderError, UserError } from "../../../src/errors.js";
import {
  driveWorker,
  Task,
  TaskQueue,
  type ActivitySession,
  type Batch,
  type BatchResult,
  type ExecutorEvent,
  type Worker,
} from "../../../src/requestor/index.js";

const logger = pino({ level: "silent" });

/** A fake activity: answers each batch with `answer(batch)` (exit codes per step, stdout). */
function session(answer: (batch: Batch, n: number) => BatchResult | Promise<BatchResult>): ActivitySession & {
  batches: Batch[];
} {
  const batches: Batch[] = [];
  return {
    providerId: "p1",
    providerName: "fake",
    agreementId: "ag1",
    activityId: "act1",
    batches,
    exec: async (batch) => {
      batches.push(batch);
      return answer(batch, batches.length);
    },
  };
}

function ok(batch: Batch, stdout = "out\n"): BatchResult {
  return {
    batchId: "b",
    ok: true,
    results: batch.steps.map((_, index) => ({ index, exitCode: 0, stdout, stderr: "" })),
  };
}

function setup(tasks: number[], maxRetries = 1) {
  const events: ExecutorEvent[] = [];
  const queue = new TaskQueue<number, string>(
    tasks.map((n) => new Task<number, string>(n)),
    { maxRetries, emit: (e) => events.push(e), logger },
  );
  return { queue, events };
}

async function outcomes(queue: TaskQueue<number, string>): Promise<Task<number, string>[]> {
  const out: Task<number, string>[] = [];
  for await (const t of queue.outcomes()) out.push(t);
  return out;
}

describe("driveWorker", () => {
  it("sends each batch's results back into the generator; steps queued before the loop join the first batch", async () => {
    const { queue, events } = setup([1, 2]);
    const s = session((b) => ok(b, "hi\n"));
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      ctx.sendBytes("/golem/resource/x", "x");
      for await (const task of tasks) {
        ctx.run(`echo ${task.data}`);
        const results = yield ctx.commit();
        task.acceptResult(`${results.at(-1)?.command}=${results.at(-1)?.stdout.trim()}`);
      }
    };
    const end = await driveWorker({
      worker,
      session: s,
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: undefined,
      emit: (e) => events.push(e),
      logger,
    });
    expect(end).toEqual({ kind: "done" });
    expect(s.batches.map((b) => b.steps.length)).toEqual([2, 1]);
    const done = await outcomes(queue);
    expect(done.map((t) => t.result)).toEqual(["echo 1=hi", "echo 2=hi"]);
    expect(events.filter((e) => e.type === "batch.finished")).toHaveLength(2);
  });

  it("throws CommandExecutionError into the generator for a non-zero exit; the worker may reject and go on", async () => {
    const { queue } = setup([1]);
    const caught: unknown[] = [];
    const s = session((b) => ({
      batchId: "b",
      ok: false,
      message: "command 0 exited with code 3",
      results: b.steps.map((_, index) => ({ index, exitCode: 3, stdout: "", stderr: "boom\n" })),
    }));
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      for await (const task of tasks) {
        ctx.run(["/bin/false"]);
        try {
          yield ctx.commit();
        } catch (err) {
          caught.push(err);
          task.rejectResult(err as Error, { retry: false });
        }
      }
    };
    const end = await driveWorker({
      worker,
      session: s,
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: undefined,
      emit: () => undefined,
      logger,
    });
    expect(end.kind).toBe("done");
    expect(caught[0]).toBeInstanceOf(CommandExecutionError);
    expect(caught[0]).toMatchObject({
      exitCode: 3,
      stderr: "boom\n",
      command: "/bin/false",
    });
    expect((caught[0] as CommandExecutionError).taskId).toBeTypeOf("string");
    expect((await outcomes(queue))[0]?.status).toBe("rejected");
  });

  it("a batch timeout thrown into the generator and left uncaught ends the worker; the task waits for a retry", async () => {
    const { queue } = setup([1]);
    const s = session((b) => ({
      batchId: "b",
      ok: false,
      message: "command 0: the batch timed out after 500 ms",
      results: b.steps.map((_, index) => ({ index, exitCode: -1, stdout: "", stderr: "" })),
    }));
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      for await (const task of tasks) {
        ctx.run("sleep 9");
        yield ctx.commit({ timeout: 500 });
        task.acceptResult("never");
      }
    };
    const end = await driveWorker({
      worker,
      session: s,
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: undefined,
      emit: () => undefined,
      logger,
    });
    expect(end.kind).toBe("worker-error");
    expect(end.kind === "worker-error" && end.error).toBeInstanceOf(BatchTimeoutError);
    expect(queue.waitingTasks.map((t) => t.status)).toEqual(["retrying"]);
    expect(await queue.take("p1", new AbortController().signal)).toBeUndefined(); // p1 tried it
    expect((await queue.take("p2", new AbortController().signal))?.attempts).toBe(2);
  });

  it("a provider failure (exec rejects) ends the worker as provider-failed, the task retried elsewhere", async () => {
    const { queue } = setup([1]);
    const s = session(() => Promise.reject(new Error("bus closed")));
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      for await (const task of tasks) {
        ctx.run("true");
        yield ctx.commit();
        task.acceptResult("x");
      }
    };
    const end = await driveWorker({
      worker,
      session: s,
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: undefined,
      emit: () => undefined,
      logger,
    });
    expect(end.kind).toBe("provider-failed");
    expect(end.kind === "provider-failed" && end.error).toBeInstanceOf(ProviderError);
    expect(queue.waitingTasks.map((t) => t.status)).toEqual(["retrying"]);
  });

  it("the task timeout aborts the batch and retries the task", async () => {
    const { queue } = setup([1]);
    const s = session(
      (_b) =>
        new Promise<BatchResult>(() => {
          /* never ends by itself */
        }),
    );
    s.exec = (batch, o) =>
      new Promise((_, reject) => o.signal.addEventListener("abort", () => reject(o.signal.reason as Error)));
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      for await (const task of tasks) {
        ctx.run("sleep 100");
        yield ctx.commit();
        task.acceptResult("x");
      }
    };
    const end = await driveWorker({
      worker,
      session: s,
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: 50,
      emit: () => undefined,
      logger,
    });
    expect(end.kind).toBe("worker-error");
    expect(end.kind === "worker-error" && end.error.message).toMatch(/timed out after 50 ms/);
    expect(queue.waitingTasks).toHaveLength(1);
  });

  it("a worker that yields something other than ctx.commit() gets a UserError and its task is rejected for retry", async () => {
    const { queue } = setup([1]);
    const worker = async function* (_ctx: unknown, tasks: AsyncIterable<Task<number, string>>) {
      for await (const _ of tasks) yield "nonsense";
    } as unknown as Worker<number, string>;
    const end = await driveWorker({
      worker,
      session: session((b) => ok(b)),
      queue,
      signal: new AbortController().signal,
      taskTimeoutMs: undefined,
      emit: () => undefined,
      logger,
    });
    expect(end.kind === "worker-error" && end.error).toBeInstanceOf(UserError);
  });
});
