/** The Executor's scenario on NATS: agents and the requestor on a real nats-server. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { docker, Executor, nats, Task, type Worker } from "../../../src/index.js";
import { NatsBus } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { prepareImage, startAgents } from "./fixture.js";
import { executorScenario } from "./scenario.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

executorScenario("NatsBus", async () => {
  const providerBus = await NatsBus.connect({ servers: server.url });
  return {
    providerBus,
    network: () => nats({ servers: server.url }),
    settle: () => providerBus.flush(),
    close: () => providerBus.close(),
  };
});

it("an agent whose connection dies mid-batch (no goodbye): the task is retried on another provider after the batch's deadline", async () => {
  const hash = await prepareImage();
  const doomedBus = await NatsBus.connect({ servers: server.url });
  const otherBus = await NatsBus.connect({ servers: server.url });
  const doomed = await startAgents(doomedBus, "exechard", 1, () => doomedBus.flush());
  const other = await startAgents(otherBus, "exechard", 1, () => otherBus.flush());
  try {
    await using ex = new Executor({
      package: docker.repo({ imageHash: hash }),
      network: nats({ servers: server.url }),
      subnetTag: "exechard",
      maxWorkers: 2,
      timeout: 90_000,
    });
    let killed: string | undefined;
    ex.events$.subscribe((e) => {
      if (e.type === "command.started" && killed === undefined && e.providerId === doomed.agents[0]?.nodeId) {
        killed = e.providerId;
        void doomedBus.close(); // the agent's connection is gone: it cannot say anything
      }
    });
    // Work hangs only on the doomed agent; elsewhere it takes a second (so both agents get a task).
    const worker: Worker<number, string> = async function* (ctx, tasks) {
      for await (const task of tasks) {
        ctx.run(ctx.providerId === doomed.agents[0]?.nodeId ? "sleep 20" : "sleep 1; echo survived");
        const results = yield ctx.commit({ timeout: 2_000 });
        task.acceptResult(results[0]?.stdout.trim() ?? "");
      }
    };
    const out: Task<number, string>[] = [];
    for await (const t of ex.submit(
      worker,
      [1, 2, 3].map((n) => new Task<number, string>(n)),
    ))
      out.push(t);
    expect(out.map((t) => t.status)).toEqual(["accepted", "accepted", "accepted"]);
    expect(killed).toBeDefined();
    const moved = out.find((t) => t.attempts === 2);
    expect(moved?.result).toBe("survived");
    expect(moved?.providerId).toBe(other.agents[0]?.nodeId);
    expect(killed).toBeDefined();
  } finally {
    await doomed.close();
    await other.close();
    await otherBus.close();
  }
}, 120_000);
