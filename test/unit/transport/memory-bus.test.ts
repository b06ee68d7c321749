/** MemoryBus specifics (the shared contract runs in test/integration/transport). */
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { SizeLimitError } from "../../../src/errors.js";
import { BusClosedError, MemoryBus } from "../../../src/transport/index.js";

const enc = new TextEncoder();

describe("MemoryBus", () => {
  it("delivers asynchronously, in publish order, a copy of the bytes", async () => {
    const bus = new MemoryBus();
    const got: number[][] = [];
    bus.subscribe("a", (m) => got.push([...m.data]));
    const buf = new Uint8Array([1, 2]);
    bus.publish("a", buf);
    buf[0] = 9; // the sender reuses its buffer
    bus.publish("a", buf);
    expect(got).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([
      [1, 2],
      [9, 2],
    ]);
    await bus.close();
  });

  it("logs a throwing handler and keeps delivering to the others", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const bus = new MemoryBus({ logger: pino({ level: "error" }, sink) });
    let other = 0;
    bus.subscribe("a", () => {
      throw new Error("handler bug");
    });
    bus.subscribe("a", () => other++);
    bus.publish("a", enc.encode("x"));
    await new Promise((r) => setImmediate(r));
    expect(other).toBe(1);
    expect(lines.join("")).toContain("bus handler threw");
    expect(lines.join("")).toContain("handler bug");
    await bus.close();
  });

  it("enforces its max payload, and fails pending requests and later calls once closed", async () => {
    const bus = new MemoryBus({ maxPayload: 10 });
    expect(() => bus.publish("a", new Uint8Array(11))).toThrow(
      new SizeLimitError("payload of 11 bytes exceeds the maximum of 10"),
    );
    bus.subscribe("svc", () => undefined);
    const pending = bus.request("svc", enc.encode("x"), { timeoutMs: 5_000 });
    await bus.close();
    await bus.close();
    await expect(pending).rejects.toThrow("request on svc: the bus is closed");
    expect(() => bus.publish("a", enc.encode("x"))).toThrow(BusClosedError);
    expect(() => bus.subscribe("a", () => undefined)).toThrow(BusClosedError);
    expect(() => bus.requestMany("a", enc.encode("x"), { maxWaitMs: 10 })).toThrow(BusClosedError);
  });

  it("leaves no reply inbox behind, whatever the outcome of a request", async () => {
    const bus = new MemoryBus({ maxPayload: 10 });
    bus.subscribe("svc", (m) => m.respond(enc.encode("ok")));
    expect(bus.subscriptionCount).toBe(1);
    await bus.request("svc", enc.encode("x"), { timeoutMs: 1_000 });
    await expect(bus.request("svc", new Uint8Array(11), { timeoutMs: 1_000 })).rejects.toThrow(
      SizeLimitError,
    );
    await expect(bus.request("nobody", enc.encode("x"), { timeoutMs: 1_000 })).rejects.toThrow(
      "no responders",
    );
    await expect(bus.request("a.*", enc.encode("x"), { timeoutMs: 1_000 })).rejects.toThrow(
      "invalid subject",
    );
    for await (const _ of bus.requestMany("svc", enc.encode("x"), { maxWaitMs: 20 }));
    expect(bus.subscriptionCount).toBe(1);
    await bus.close();
    expect(bus.subscriptionCount).toBe(0);
  });

  it("ends a gathering requestMany when the bus closes", async () => {
    const bus = new MemoryBus();
    bus.subscribe("svc", (m) => m.respond(enc.encode("r")));
    const got: Uint8Array[] = [];
    const done = (async () => {
      for await (const r of bus.requestMany("svc", enc.encode("q"), { maxWaitMs: 10_000 })) {
        got.push(r);
        void bus.close();
      }
    })();
    await done;
    expect(got).toHaveLength(1);
  });
});
