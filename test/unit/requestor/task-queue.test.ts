import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AbortError, UserError } from "../../../src/errors.js";
import { Task, TaskQueue, type ExecutorEvent } from "../../../src/requestor/index.js";

const logger = pino({ level: "silent" });

function queue<D>(source: Iterable<Task<D, string>> | AsyncIterable<Task<D, string>>, maxRetries = 2) {
  const events: ExecutorEvent[] = [];
  const q = new TaskQueue<D, string>(source, { maxRetries, emit: (e) => events.push(e), logger });
  return { q, events };
}

const never = new AbortController().signal;

async function drain<D>(q: TaskQueue<D, string>): Promise<{ tasks: Task<D, string>[]; error?: unknown }> {
  const tasks: Task<D, string>[] = [];
  try {
    for await (const t of q.outcomes()) tasks.push(t);
    return { tasks };
  } catch (error) {
    return { tasks, error };
  }
}

describe("TaskQueue", () => {
  it("reads the source lazily: one task per take", async () => {
    let read = 0;
    function* source() {
      for (let i = 0; i < 100; i++) {
        read++;
        yield new Task<number, string>(i);
      }
    }
    const { q } = queue(source());
    const t = await q.take("p1", never);
    expect(t?.data).toBe(0);
    expect(read).toBe(1);
    expect(t?.status).toBe("running");
  });

  it("retries a rejected task on another provider, at most maxRetries times, then rejects it", async () => {
    const { q, events } = queue([new Task<number, string>(1)], 2);
    for (const p of ["a", "b", "c"]) (await q.take(p, never))?.rejectResult(`failed on ${p}`);
    const { tasks } = await drain(q);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.status).toBe("rejected");
    expect(tasks[0]?.attempts).toBe(3);
    expect(tasks[0]?.reason?.message).toBe("failed on c");
    expect(events.filter((e) => e.type === "task.retried")).toHaveLength(2);
  });

  it("never hands a task to a provider that already tried it", async () => {
    const { q } = queue([new Task<number, string>(1)]);
    const t = await q.take("a", never);
    t?.rejectResult("nope");
    // Nothing else is running or unread: "a" gets nothing (its worker may end).
    expect(await q.take("a", never)).toBeUndefined();
    expect(q.wants("a")).toBe(false);
    expect(q.wants("b")).toBe(true);
    const again = await q.take("b", never);
    expect(again?.id).toBe(t?.id);
    again?.acceptResult("done");
    const { tasks } = await drain(q);
    expect(tasks.map((x) => [x.status, x.result, x.attempts])).toEqual([["accepted", "done", 2]]);
  });

  it("rejectResult with retry: false ends the task at once", async () => {
    const { q } = queue([new Task<number, string>(1)]);
    (await q.take("a", never))?.rejectResult("bad input", { retry: false });
    const { tasks } = await drain(q);
    expect(tasks[0]?.status).toBe("rejected");
    expect(tasks[0]?.attempts).toBe(1);
  });

  it("a waiting take wakes when a running task comes back for retry", async () => {
    const { q } = queue([new Task<number, string>(1)]);
    const first = await q.take("a", never);
    const waiting = q.take("b", never);
    first?.rejectResult("lost");
    expect((await waiting)?.id).toBe(first?.id);
  });

  it("close rejects running, waiting and unread tasks of an array with the reason, then outcomes throws it", async () => {
    const input = [1, 2, 3, 4].map((n) => new Task<number, string>(n));
    const { q } = queue(input);
    const a = await q.take("a", never);
    a?.acceptResult("ok");
    await q.take("b", never);
    const reason = new AbortError("stop");
    q.close(reason);
    const { tasks, error } = await drain(q);
    expect(error).toBe(reason);
    expect(tasks.map((t) => [t.data, t.status])).toEqual([
      [1, "accepted"],
      [2, "rejected"],
      [3, "rejected"],
      [4, "rejected"],
    ]);
    expect(tasks[1]?.reason).toBe(reason);
    // A verdict after the close changes nothing.
    expect(() => input[1]?.acceptResult("late")).toThrow(UserError);
  });

  it("an async source is not read past what workers took when closed", async () => {
    let read = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        read++;
        yield new Task<number, string>(i);
      }
    }
    const { q } = queue(source());
    await q.take("a", never);
    q.close(new AbortError("stop"));
    const { tasks } = await drain(q);
    expect(tasks).toHaveLength(1);
    expect(read).toBe(1);
  });

  it("refuses something that is not a Task, and a task submitted twice, with a UserError", async () => {
    const bad = queue([42 as unknown as Task<number, string>]);
    await bad.q.take("a", never);
    const r = await drain(bad.q);
    expect(r.error).toBeInstanceOf(UserError);
    expect((r.error as Error).message).toMatch(/wrap data in new Task/);
    const t = new Task<number, string>(1);
    const twice = queue([t, t]);
    (await twice.q.take("a", never))?.acceptResult("x");
    await twice.q.take("a", never);
    const r2 = await drain(twice.q);
    expect((r2.error as Error).message).toMatch(/submitted twice/);
  });

  it("a worker's verdict on a task that is not running is a UserError", () => {
    const t = new Task<number, string>(1);
    expect(() => t.acceptResult("x")).toThrow(/only a running task/);
  });
});

describe("TaskQueue.rejectStranded", () => {
  it("rejects only the waiting tasks that failed before, with their last reason", async () => {
    const { q } = queue([new Task<number, string>(1), new Task<number, string>(2)], 5);
    const first = await q.take("a", never);
    first?.rejectResult("exit 3");
    expect(q.rejectStranded("no other provider")).toBe(1);
    expect(first?.status).toBe("rejected");
    expect(first?.reason?.message).toBe("exit 3 (no other provider)");
    expect((await q.take("a", never))?.data).toBe(2); // the fresh one still runs
  });
});
