/** The Executor on the in-process MemoryBus: the scenario, and the default `local()` network. */
import { expect, it } from "vitest";
import { docker, Executor, local, onBus, Task, type Worker } from "../../../src/index.js";
import { MemoryBus } from "../../../src/transport/index.js";
import { prepareImage } from "./fixture.js";
import { executorScenario } from "./scenario.js";

executorScenario("MemoryBus", () => {
  const bus = new MemoryBus();
  return Promise.resolve({ providerBus: bus, network: () => onBus(bus), close: () => bus.close() });
});

it("local({ providers: 3 }): agents on this machine, 20 tasks, all accepted, all shut down after", async () => {
  const hash = await prepareImage();
  const worker: Worker<number, number> = async function* (ctx, tasks) {
    for await (const task of tasks) {
      ctx.run(["/bin/sh", "-c", `echo $((${task.data} * ${task.data}))`]);
      const results = yield ctx.commit({ timeout: 30_000 });
      task.acceptResult(Number(results[0]?.stdout.trim()));
    }
  };
  const ex = new Executor({
    package: docker.repo({ imageHash: hash }),
    network: local({ providers: 3 }),
    subnetTag: "execlocal",
    maxWorkers: 3,
    timeout: 60_000,
  });
  const out: Task<number, number>[] = [];
  for await (const t of ex.submit(
    worker,
    Array.from({ length: 20 }, (_, i) => new Task(i)),
  ))
    out.push(t);
  expect(out.map((t) => t.result).sort((a, b) => a! - b!)).toEqual(
    Array.from({ length: 20 }, (_, i) => i * i).sort((a, b) => a - b),
  );
  expect(new Set(out.map((t) => t.providerId)).size).toBeGreaterThanOrEqual(2);
  await Promise.all([ex.shutdown(), ex.shutdown()]);
  expect(ex.state).toBe("stopped");
});
