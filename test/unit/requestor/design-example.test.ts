/**
 * DESIGN §6's example, verbatim but for the image hash: it must type-check against the package
 * root (`tsc` checks this file) and build its executor. The run itself is in the integration tests.
 */
import { expect, it } from "vitest";
import { Executor, Task, docker, local, logSummary, type WorkContext } from "../../../src/index.js";

const frames = [1, 2, 3];

async function designExample(): Promise<void> {
  const pkg = docker.repo({ imageHash: `sha256:${"0".repeat(64)}`, minMemGib: 0.5, minStorageGib: 2 });

  async function* worker(ctx: WorkContext, tasks: AsyncIterable<Task<number, string>>) {
    ctx.sendFile("scene.pov", "/golem/resource/scene.pov"); // once per provider
    for await (const task of tasks) {
      ctx.sendJson("/golem/work/params.json", { frame: task.data });
      ctx.run("/golem/entrypoints/render.sh");
      ctx.downloadFile(`/golem/output/out${task.data}.png`, `out/${task.data}.png`);
      yield ctx.commit({ timeout: 120_000 }); // one batch, one deadline
      task.acceptResult(`out/${task.data}.png`); // or task.rejectResult(reason, { retry: true })
    }
  }

  await using executor = new Executor({
    package: pkg,
    maxWorkers: 3,
    budget: "10.0",
    timeout: 600_000,
    subnetTag: "devnet",
    eventConsumer: logSummary(),
    network: local({ providers: 3 }),
  }); // or nats({ servers: "nats://host:4222" })
  for await (const task of executor.submit(
    worker,
    frames.map((f) => new Task(f)),
  )) {
    console.log(task.data, task.result, task.runningTime);
  }
}

it("DESIGN §6's example type-checks and its executor resolves the options", async () => {
  expect(typeof designExample).toBe("function");
  await using executor = new Executor({
    package: docker.repo({ imageHash: `sha256:${"0".repeat(64)}` }),
    maxWorkers: 3,
    budget: "10.0",
    network: local({ providers: 3 }),
  });
  expect(executor.options.maxWorkers).toBe(3);
  expect(executor.options.budget.toString()).toBe("10");
  expect(executor.state).toBe("new");
});
