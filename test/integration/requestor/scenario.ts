/**
 * The Executor's integration scenario (issue 6), run on each bus with three provider agents on the
 * real Docker engine: results, a provider lost mid-batch, failing commands, batch timeouts,
 * rejections without retry, the whole-run timeout and a demand nobody can meet.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortError,
  BatchTimeoutError,
  CommandExecutionError,
  docker,
  Executor,
  logSummary,
  MarketError,
  Task,
  TimeoutError,
  type ExecutorEvent,
  type ExecutorOptions,
  type Network,
  type Worker,
} from "../../../src/index.js";
import type { ImageHash } from "../../../src/images/index.js";
import type { Bus } from "../../../src/transport/index.js";
import { prepareImage, startAgents, type Agents } from "./fixture.js";
import { collect } from "../helpers/collect-tasks.js";

export interface ScenarioEnv {
  /** The agents' bus. */
  readonly providerBus: Bus;
  /** The requestor's network. */
  network(): Network;
  readonly settle?: () => Promise<void>;
  close(): Promise<void>;
}

/** Runs `cmd(task)` per task; accepts its trimmed stdout. */
function shellWorker(cmd: (t: Task<number, string>) => string, timeout = 30_000): Worker<number, string> {
  return async function* (ctx, tasks) {
    for await (const task of tasks) {
      ctx.run(cmd(task));
      const results = yield ctx.commit({ timeout });
      task.acceptResult(results[0]?.stdout.trim() ?? "");
    }
  };
}

export function executorScenario(name: string, open: (subnet: string) => Promise<ScenarioEnv>): void {
  describe(`Executor on ${name}`, () => {
    const subnet = `exec${name.toLowerCase().replace(/[^a-z]/g, "")}`;
    let env: ScenarioEnv;
    let agents: Agents;
    let hash: ImageHash;

    beforeAll(async () => {
      hash = await prepareImage();
      env = await open(subnet);
      agents = await startAgents(env.providerBus, subnet, 3, env.settle);
    });
    afterAll(async () => {
      await agents?.close();
      await env?.close();
    });

    const executor = (extra: Partial<ExecutorOptions> = {}): Executor =>
      new Executor({
        package: docker.repo({ imageHash: hash }),
        network: env.network(),
        subnetTag: subnet,
        maxWorkers: 3,
        timeout: 60_000,
        marketWindowMs: 400,
        ...extra,
      });

    it("runs 20 tasks across 3 agents: every one accepted with its result", async () => {
      const lines: string[] = [];
      await using ex = executor({ eventConsumer: logSummary({ write: (l) => lines.push(l) }) });
      const events: ExecutorEvent[] = [];
      ex.events$.subscribe((e) => events.push(e));
      const worker: Worker<number, number> = async function* (ctx, tasks) {
        ctx.sendBytes("/golem/resource/factor", "3"); // once per provider: goes with the first batch
        for await (const task of tasks) {
          ctx.sendJson("/golem/work/params.json", { n: task.data });
          ctx.run(`echo $(( ${task.data} * $(cat /golem/resource/factor) ))`);
          ctx.downloadJson("/golem/work/params.json");
          const results = yield ctx.commit({ timeout: 30_000 });
          // The first batch also holds the send queued before the loop: count from the end.
          expect(results.at(-1)?.json).toEqual({ n: task.data });
          task.acceptResult(Number(results.at(-2)?.stdout.trim()));
        }
      };
      const input = Array.from({ length: 20 }, (_, i) => new Task<number, number>(i + 1));
      const { tasks, error } = await collect(ex.submit(worker, input));
      expect(error).toBeUndefined();
      expect(tasks).toHaveLength(20);
      for (const t of tasks) {
        expect(t.status).toBe("accepted");
        expect(t.result).toBe(t.data * 3);
        expect(t.runningTime).toBeGreaterThan(0);
      }
      const providers = new Set(tasks.map((t) => t.providerId));
      expect(providers.size).toBeGreaterThanOrEqual(2);
      expect(events.filter((e) => e.type === "task.accepted")).toHaveLength(20);
      expect(events.filter((e) => e.type === "agreement.created").length).toBeGreaterThanOrEqual(2);
      expect(lines.some((l) => l.startsWith("computation finished: 20 accepted, 0 rejected"))).toBe(true);
      // The per-provider table comes once the invoices are paid, at shutdown.
      await ex.shutdown();
      expect(lines.filter((l) => / task\(s\) computed, /.test(l)).length).toBe(providers.size);
      expect(lines.at(-1)).toMatch(/^ {2}total cost \d+(\.\d+)?$/);
    });

    it("a failing command is thrown into the worker as CommandExecutionError; rejected with retry, it runs elsewhere", async () => {
      await using ex = executor();
      const caught: CommandExecutionError[] = [];
      const worker: Worker<number, string> = async function* (ctx, tasks) {
        for await (const task of tasks) {
          ctx.run(task.attempts === 1 ? "echo oops >&2; exit 3" : "echo fine");
          try {
            const results = yield ctx.commit({ timeout: 30_000 });
            task.acceptResult(results[0]?.stdout.trim() ?? "");
          } catch (err) {
            if (!(err instanceof CommandExecutionError)) throw err;
            caught.push(err);
            task.rejectResult(err, { retry: true });
          }
        }
      };
      const { tasks, error } = await collect(ex.submit(worker, [new Task(1)]));
      expect(error).toBeUndefined();
      expect(caught).toHaveLength(1);
      expect(caught[0]?.exitCode).toBe(3);
      expect(caught[0]?.stderr).toContain("oops");
      expect(tasks[0]?.status).toBe("accepted");
      expect(tasks[0]?.result).toBe("fine");
      expect(tasks[0]?.attempts).toBe(2);
    });

    it("a batch timeout is thrown into the worker as BatchTimeoutError; uncaught, the task is retried on another provider", async () => {
      await using ex = executor();
      const events: ExecutorEvent[] = [];
      ex.events$.subscribe((e) => events.push(e));
      const seen: unknown[] = [];
      const worker: Worker<number, string> = async function* (ctx, tasks) {
        for await (const task of tasks) {
          ctx.run(task.attempts === 1 ? "sleep 20" : "echo quick");
          try {
            const results = yield ctx.commit({ timeout: task.attempts === 1 ? 500 : 30_000 });
            task.acceptResult(results[0]?.stdout.trim() ?? "");
          } catch (err) {
            seen.push(err);
            throw err; // uncaught: ends this worker, its task is retried
          }
        }
      };
      const { tasks, error } = await collect(ex.submit(worker, [new Task(1)]));
      expect(error).toBeUndefined();
      expect(seen[0]).toBeInstanceOf(BatchTimeoutError);
      expect(tasks[0]?.result).toBe("quick");
      const started = events.filter((e) => e.type === "task.started");
      expect(started).toHaveLength(2);
      expect(started[0]?.providerId).not.toBe(started[1]?.providerId);
      const retried = events.find((e) => e.type === "task.retried");
      expect(retried && "reason" in retried ? retried.reason : "").toMatch(/timed out after 500 ms/);
    });

    it("rejectResult without retry ends the task rejected at once, with its reason", async () => {
      await using ex = executor();
      const worker: Worker<number, string> = async function* (ctx, tasks) {
        for await (const task of tasks) {
          ctx.run("echo checked");
          yield ctx.commit();
          if (task.data === 2) task.rejectResult("input 2 is invalid", { retry: false });
          else task.acceptResult("ok");
        }
      };
      const { tasks, error } = await collect(ex.submit(worker, [new Task(1), new Task(2), new Task(3)]));
      expect(error).toBeUndefined();
      const two = tasks.find((t) => t.data === 2);
      expect(two?.status).toBe("rejected");
      expect(two?.reason?.message).toBe("input 2 is invalid");
      expect(two?.attempts).toBe(1);
      expect(tasks.filter((t) => t.status === "accepted")).toHaveLength(2);
    });

    it("a task failing on every provider ends rejected with its reason once no other provider is left", async () => {
      await using ex = executor({ maxTaskRetries: 10 });
      const worker: Worker<number, string> = async function* (ctx, tasks) {
        for await (const task of tasks) {
          ctx.run("exit 7");
          try {
            yield ctx.commit();
            task.acceptResult("never");
          } catch (err) {
            task.rejectResult(err as Error);
          }
        }
      };
      const { tasks, error } = await collect(ex.submit(worker, [new Task<number, string>(1)]));
      expect(error).toBeUndefined();
      expect(tasks[0]?.status).toBe("rejected");
      expect(tasks[0]?.attempts).toBe(3); // each of the three providers once
      expect(tasks[0]?.reason?.message).toMatch(/exited with code 7 \(no other provider could be found/);
    });

    it("the whole-run timeout ends cleanly: every task reported, then TimeoutError", async () => {
      await using ex = executor({ timeout: 4_000 });
      const { tasks, error } = await collect(
        ex.submit(
          shellWorker(() => "sleep 30", 60_000),
          [1, 2, 3, 4, 5].map((n) => new Task<number, string>(n)),
        ),
      );
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as Error).message).toMatch(/timed out after 4000 ms/);
      // Every task is reported (the unread rest of the array too), rejected with the reason.
      expect(tasks.map((t) => t.data).sort()).toEqual([1, 2, 3, 4, 5]);
      for (const t of tasks) {
        expect(t.status).toBe("rejected");
        expect(t.reason).toBe(error);
      }
    });

    it("an abort (Ctrl-C) ends the run: running and waiting tasks reported rejected, then AbortError", async () => {
      await using ex = executor();
      const ac = new AbortController();
      ex.events$.subscribe((e) => {
        if (e.type === "command.started") ac.abort();
      });
      const started = performance.now();
      const { tasks, error } = await collect(
        ex.submit(
          shellWorker(() => "sleep 30", 60_000),
          [1, 2, 3, 4].map((n) => new Task<number, string>(n)),
          { signal: ac.signal },
        ),
      );
      expect(error).toBeInstanceOf(AbortError);
      expect(tasks.map((t) => t.data).sort()).toEqual([1, 2, 3, 4]);
      for (const t of tasks) expect(t.status).toBe("rejected");
      expect(performance.now() - started).toBeLessThan(20_000); // the sleeps were cancelled
    });

    it("no matching provider: after the timeout, a MarketError naming what was asked", async () => {
      await using ex = executor({
        package: docker.repo({ imageHash: hash, minMemGib: 5000 }),
        timeout: 2_500,
      });
      const { tasks, error } = await collect(
        ex.submit(
          shellWorker(() => "true"),
          [new Task<number, string>(1)],
        ),
      );
      expect(error).toBeInstanceOf(MarketError);
      const msg = (error as Error).message;
      expect(msg).toMatch(/no provider agreed within 2500 ms/);
      expect(msg).toContain(`docker:${hash}`);
      expect(msg).toContain("≥ 5000 GiB memory");
      expect(msg).toMatch(/agora\.inf\.mem\.gib/);
      expect(tasks.map((t) => t.status)).toEqual(["rejected"]);
    });

    it("an agent shut down mid-batch: its task is retried on another provider and completes", async () => {
      await using ex = executor();
      let killed: string | undefined;
      ex.events$.subscribe((e) => {
        if (e.type === "command.started" && killed === undefined && e.command.includes("sleep")) {
          killed = e.providerId;
          const agent = agents.agents.find((a) => a.nodeId === e.providerId);
          void agent?.shutdown();
        }
      });
      const { tasks, error } = await collect(
        ex.submit(
          shellWorker((t) => (t.attempts === 1 ? "sleep 3; echo slow" : "echo again")),
          [new Task<number, string>(1)],
        ),
      );
      expect(error).toBeUndefined();
      expect(killed).toBeDefined();
      expect(tasks[0]?.status).toBe("accepted");
      expect(tasks[0]?.result).toBe("again");
      expect(tasks[0]?.providerId).not.toBe(killed);
      await agents.add("default"); // back to three for whatever runs next
    });
  });
}
