/** The Bus contract against NatsBus on a real nats-server, plus what only NATS has: restarts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { BusClosedError, NatsBus, NoRespondersError } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { busContract } from "./bus-contract.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

busContract("NatsBus", {
  network: () => {
    const buses: NatsBus[] = [];
    return Promise.resolve({
      connect: async () => {
        const bus = await NatsBus.connect({ servers: server.url });
        buses.push(bus);
        return bus;
      },
      settle: async () => {
        await Promise.all(buses.map((b) => b.flush()));
      },
      close: async () => {
        await Promise.all(buses.map((b) => b.close()));
      },
    });
  },
});

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("NatsBus", () => {
  it("keeps serving after the server restarts mid-traffic", async () => {
    const responder = await NatsBus.connect({ servers: server.url, reconnectTimeWaitMs: 100 });
    const requester = await NatsBus.connect({ servers: server.url, reconnectTimeWaitMs: 100 });
    try {
      responder.subscribe("svc.restart", (m) => m.respond(enc.encode(`ok:${dec.decode(m.data)}`)));
      await responder.flush();

      // Traffic in flight while the server goes away and comes back.
      let sent = 0;
      let stop = false;
      const traffic = (async () => {
        const outcomes: string[] = [];
        while (!stop && sent < 10_000) {
          const n = sent++;
          outcomes.push(
            await requester
              .request("svc.restart", enc.encode(String(n)), { timeoutMs: 300 })
              .then((r) => dec.decode(r))
              .catch((e: unknown) => (e as Error).name),
          );
          await new Promise((r) => setTimeout(r, 5));
        }
        return outcomes;
      })();
      await new Promise((r) => setTimeout(r, 150));
      await server.restart();

      // Wait (bounded) until a request succeeds again, then every new request must succeed.
      let recovered = false;
      for (let i = 0; i < 100 && !recovered; i++) {
        recovered = await requester
          .request("svc.restart", enc.encode("probe"), { timeoutMs: 300 })
          .then((r) => dec.decode(r) === "ok:probe")
          .catch(() => false);
        if (!recovered) await new Promise((r) => setTimeout(r, 100));
      }
      expect(recovered).toBe(true);
      stop = true;
      const outcomes = await traffic;
      expect(outcomes.filter((o) => o.startsWith("ok:")).length).toBeGreaterThan(0);

      const after = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          requester.request("svc.restart", enc.encode(`after${i}`), { timeoutMs: 2_000 }),
        ),
      );
      expect(after.map((r) => dec.decode(r))).toEqual(Array.from({ length: 20 }, (_, i) => `ok:after${i}`));
    } finally {
      await requester.close();
      await responder.close();
    }
  });

  it("drains on close: what was published before close() arrives; later use fails with BusClosedError", async () => {
    const publisher = await NatsBus.connect({ servers: server.url });
    const subscriber = await NatsBus.connect({ servers: server.url });
    let received = 0;
    let bytes = 0;
    subscriber.subscribe("drain.>", (m) => {
      received++;
      bytes += m.data.byteLength;
    });
    await subscriber.flush();
    for (let i = 0; i < 2_000; i++) publisher.publish(`drain.${i % 7}`, new Uint8Array(1_000));
    await publisher.close();
    for (let i = 0; i < 100 && received < 2_000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe(2_000);
    expect(bytes).toBe(2_000_000);
    await subscriber.close();
    await publisher.close();
    expect(() => publisher.publish("a", enc.encode("x"))).toThrow(BusClosedError);
    expect(() => publisher.subscribe("a", () => undefined)).toThrow("subscribe to a: the bus is closed");
    await expect(publisher.request("a", enc.encode("x"), { timeoutMs: 100 })).rejects.toThrow(
      "request on a: the bus is closed",
    );
  });

  it("reports an unreachable server as ConfigError, and a vanished service as NoRespondersError", async () => {
    await expect(
      NatsBus.connect({ servers: "nats://127.0.0.1:1", connectTimeoutMs: 1_000 }),
    ).rejects.toBeInstanceOf(ConfigError);
    const bus = await NatsBus.connect({ servers: server.url });
    const other = await NatsBus.connect({ servers: server.url });
    const sub = other.subscribe("svc.gone", (m) => m.respond(enc.encode("here")));
    await other.flush();
    expect(dec.decode(await bus.request("svc.gone", enc.encode("x"), { timeoutMs: 1_000 }))).toBe("here");
    sub.unsubscribe();
    await other.flush();
    await expect(bus.request("svc.gone", enc.encode("x"), { timeoutMs: 1_000 })).rejects.toBeInstanceOf(
      NoRespondersError,
    );
    await bus.close();
    await other.close();
  });
});
