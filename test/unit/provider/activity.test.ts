import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { PathOutsideVolumesError } from "../../../src/errors.js";
import { Activity } from "../../../src/provider/activity.js";
import { NodeIdentity, type BatchEventBody } from "../../../src/protocol/index.js";
import { MemoryBus, receiveStream, SignedNode, StreamSender } from "../../../src/transport/index.js";
import { fakeRuntime } from "./fake-runtime.js";

const CONTAINER = {
  id: "c1",
  activityId: "act1",
  volumes: ["/golem/work", "/golem/output"],
  user: "1000:1000",
};
const bus = new MemoryBus();
const requestorNode = new SignedNode({ bus, identity: NodeIdentity.generate() });
const requestor = requestorNode.nodeId;
const SPOOL = join(tmpdir(), `agora-activity-unit-spool-${process.pid}`);
const node = new SignedNode({ bus, identity: NodeIdentity.generate() });
const sender = new StreamSender({ node });
afterAll(async () => {
  sender.close();
  node.close();
  requestorNode.close();
  await bus.close();
  await rm(SPOOL, { recursive: true, force: true });
});

function activity(exit = 0, outputs?: Parameters<typeof fakeRuntime>[1]) {
  const { runtime, calls } = fakeRuntime(exit, outputs);
  const events: BatchEventBody[] = [];
  let ended = 0;
  const a = new Activity(
    {
      node,
      sender,
      runtime,
      logger: pino({ level: "silent" }),
      maxTransferBytes: 1024,
      spoolDir: SPOOL,
      ended: () => ended++,
      emit: (_to, body) => events.push(body.event),
    },
    { id: "act1", agreementId: "a1", requestorId: requestor },
  );
  return { a, calls, events, ended: () => ended };
}

async function until(events: BatchEventBody[]): Promise<void> {
  for (let i = 0; i < 200 && !events.some((e) => e.kind === "done"); i++)
    await new Promise((r) => setTimeout(r, 5));
}

describe("Activity", () => {
  it("goes New → Deployed → Ready → Terminated, reporting every command", async () => {
    const { a, calls, events, ended } = activity();
    expect(a.state).toBe("New");
    a.deployed(CONTAINER);
    expect(a.state).toBe("Deployed");
    a.exec(
      "b1",
      [{ kind: "deploy" }, { kind: "start" }, { kind: "run", entryPoint: "/bin/echo", args: ["x"] }],
      5000,
    );
    await until(events);
    expect(a.state).toBe("Ready");
    expect(calls).toEqual(["start", "exec /bin/echo x"]);
    expect(events.map((e) => e.kind)).toEqual([
      "started",
      "finished",
      "started",
      "finished",
      "started",
      "stdout",
      "finished",
      "done",
    ]);
    expect(events.at(-1)).toEqual({ kind: "done", ok: true });
    await a.destroy();
    await a.destroy();
    expect(a.state).toBe("Terminated");
    expect(calls.at(-1)).toBe("destroy c1");
    expect(ended()).toBe(1);
  });

  it("refuses a transfer outside the volumes before any runtime call", () => {
    const { a, calls } = activity();
    a.deployed(CONTAINER);
    expect(() =>
      a.exec(
        "b1",
        [{ kind: "start" }, { kind: "transfer", from: "container:/etc/shadow", to: "stream:" }],
        5000,
      ),
    ).toThrow(PathOutsideVolumesError);
    expect(calls).toEqual([]);
    expect(a.runningBatch).toBeUndefined();
  });

  it("stops at a failed command, refuses run before start, and exec after termination", async () => {
    const failing = activity(2);
    failing.a.deployed(CONTAINER);
    failing.a.exec(
      "b1",
      [{ kind: "start" }, { kind: "run", entryPoint: "false", args: [] }, { kind: "start" }],
      5000,
    );
    await until(failing.events);
    expect(failing.events.at(-1)).toEqual({
      kind: "done",
      ok: false,
      message: "command 1 exited with code 2",
    });

    const early = activity();
    early.a.deployed(CONTAINER);
    early.a.exec("b1", [{ kind: "run", entryPoint: "true", args: [] }], 5000);
    await until(early.events);
    expect(JSON.stringify(early.events.at(-1))).toMatch(
      /"ok":false,"message":"command 0: .*is Deployed: start it first/,
    );
    expect(early.calls).toEqual([]);

    await early.a.destroy();
    expect(() => early.a.exec("b2", [{ kind: "start" }], 5000)).toThrow("activity act1 is terminated");
  });

  it("offers a download back and ends with a terminate command without deadlock", async () => {
    const { a, events, calls, ended } = activity();
    a.deployed(CONTAINER);
    a.exec(
      "b1",
      [
        { kind: "start" },
        { kind: "transfer", from: "container:/golem/output/o", to: "stream:" },
        { kind: "terminate" },
      ],
      5000,
    );
    await until(events);
    const finished = events.filter((e) => e.kind === "finished");
    expect(finished[1]).toMatchObject({ exitCode: 0, download: { size: 10 } });
    expect(events.at(-1)).toEqual({ kind: "done", ok: true });
    expect(a.state).toBe("Terminated");
    expect(calls).toEqual(["start", "getFile", "destroy c1"]);
    expect(ended()).toBe(1);
    // The requestor pulls the spooled file; then the spool is empty again.
    const offer = finished[1]?.kind === "finished" ? finished[1].download : undefined;
    const chunks: Buffer[] = [];
    for await (const c of receiveStream({ node: requestorNode, from: node.nodeId, offer: offer! }))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("file bytes");
    for (let i = 0; i < 50 && (await readdir(SPOOL)).length > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(SPOOL)).toEqual([]);
  });

  it("cancels a running batch with the reason", async () => {
    const { a, events } = activity();
    a.deployed(CONTAINER);
    expect(() => a.cancel("nope")).toThrow(/batch nope is not running/);
    a.exec("b1", [{ kind: "start" }, { kind: "run", entryPoint: "x", args: [] }], 5000);
    a.cancel("b1", "changed my mind");
    await until(events);
    expect(JSON.stringify(events.at(-1))).toMatch(/"kind":"done","ok":false,"message":".*changed my mind/);
  });

  it("streams whole UTF-8 characters and cuts a stream after 1 MiB, saying so", async () => {
    const euro = Buffer.from("€");
    const big = new Uint8Array(1024 * 1024 + 10).fill(0x61);
    const { a, events } = activity(0, [
      ["stdout", euro.subarray(0, 1)],
      ["stdout", euro.subarray(1)],
      ["stderr", big],
      ["stderr", big],
    ]);
    a.deployed(CONTAINER);
    a.exec("b1", [{ kind: "start" }, { kind: "run", entryPoint: "x", args: [] }], 5000);
    await until(events);
    const text = (kind: "stdout" | "stderr") =>
      events.flatMap((e) => (e.kind === kind ? [e.data] : [])).join("");
    expect(text("stdout")).toBe("€");
    expect(text("stderr")).toBe("a".repeat(1024 * 1024) + "\n[agora: stderr cut after 1048576 bytes]\n");
  });
});
