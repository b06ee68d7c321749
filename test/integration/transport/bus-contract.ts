/**
 * The Bus contract (DESIGN §3): one suite, run against every Bus implementation. A harness gives
 * each test a fresh network to connect to; `settle` waits until subscriptions are in effect.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, SizeLimitError, TimeoutError } from "../../../src/errors.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import {
  InvalidSubjectError,
  NoRespondersError,
  SignedNode,
  StreamAbortedError,
  StreamSender,
  receiveStream,
} from "../../../src/transport/index.js";
import type { Bus, BusMessage } from "../../../src/transport/index.js";

export interface BusNetwork {
  /** A new client of this network (for MemoryBus, the one shared instance). */
  connect(): Promise<Bus>;
  /** Wait until every subscription made so far is in effect. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface BusHarness {
  network(): Promise<BusNetwork>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolve with the first `n` messages a subscription receives (bounded by `timeoutMs`). */
function collect(bus: Bus, subject: string, n: number, timeoutMs = 2_000): Promise<BusMessage[]> {
  return new Promise((resolve, reject) => {
    const got: BusMessage[] = [];
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`got ${got.length} of ${n} messages on ${subject}`));
    }, timeoutMs);
    const sub = bus.subscribe(subject, (msg) => {
      got.push(msg);
      if (got.length === n) {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(got);
      }
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 1 MiB of random bytes, read at shifting offsets: `blocks` blocks of 64 KiB, order-sensitive. */
function patterned(seed: Buffer, blocks: number, onDone?: () => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; i < blocks; i++) {
          const start = (i * 7919) % (seed.byteLength - 65_536);
          yield seed.subarray(start, start + 65_536);
        }
      } finally {
        onDone?.();
      }
    },
  };
}

async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { hex: hash.digest("hex"), bytes };
}

export function busContract(name: string, harness: BusHarness): void {
  describe(`Bus contract: ${name}`, () => {
    let network: BusNetwork | undefined;
    const open = async (): Promise<{ a: Bus; b: Bus; net: BusNetwork }> => {
      const net = await harness.network();
      network = net;
      return { a: await net.connect(), b: await net.connect(), net };
    };
    afterEach(async () => {
      await network?.close();
      network = undefined;
    });

    it("delivers published bytes to subscribers and stops after unsubscribe", async () => {
      const { a, b, net } = await open();
      const got = collect(b, "t.pub.one", 2);
      await net.settle();
      a.publish("t.pub.one", enc.encode("hello"));
      a.publish("t.pub.one", new Uint8Array([0, 255, 1]));
      const msgs = await got;
      expect(msgs.map((m) => m.subject)).toEqual(["t.pub.one", "t.pub.one"]);
      expect(dec.decode(msgs[0]!.data)).toBe("hello");
      expect([...msgs[1]!.data]).toEqual([0, 255, 1]);
      expect(msgs[0]!.reply).toBeUndefined();

      let after = 0;
      const sub = b.subscribe("t.pub.two", () => after++);
      await net.settle();
      sub.unsubscribe();
      sub.unsubscribe();
      await net.settle();
      a.publish("t.pub.two", enc.encode("x"));
      await sleep(100);
      expect(after).toBe(0);
    });

    it("matches `*` to one token and `>` to one or more, as NATS does", async () => {
      const { a, b, net } = await open();
      const star: string[] = [];
      const tail: string[] = [];
      b.subscribe("w.*.c", (m) => star.push(m.subject));
      b.subscribe("w.>", (m) => tail.push(m.subject));
      const end = collect(b, "w.end", 1);
      await net.settle();
      for (const s of ["w.b.c", "w.b.d", "w.b.c.d", "w.c", "w", "x.b.c", "w.x.c"])
        a.publish(s, enc.encode(s));
      a.publish("w.end", enc.encode("end"));
      await end;
      await sleep(50);
      expect(star).toEqual(["w.b.c", "w.x.c"]);
      expect(tail.filter((s) => s !== "w.end")).toEqual(["w.b.c", "w.b.d", "w.b.c.d", "w.c", "w.x.c"]);
    });

    it("refuses invalid subjects and oversized payloads with clear errors", async () => {
      const { a } = await open();
      expect(() => a.publish("a.*", enc.encode("x"))).toThrow(InvalidSubjectError);
      expect(() => a.publish("a..b", enc.encode("x"))).toThrow('invalid subject "a..b": empty token');
      expect(() => a.subscribe("a.>.b", () => undefined)).toThrow("`>` must be the last token");
      expect(() => a.publish("", enc.encode("x"))).toThrow(InvalidSubjectError);
      expect(() => a.publish("big", new Uint8Array(2 * 1024 * 1024))).toThrow(SizeLimitError);
      await expect(a.request("a.*", enc.encode("x"), { timeoutMs: 1_000 })).rejects.toBeInstanceOf(
        InvalidSubjectError,
      );
      await expect(a.request("big", new Uint8Array(2 * 1024 * 1024), { timeoutMs: 1_000 })).rejects.toThrow(
        SizeLimitError,
      );
      const many = async (): Promise<void> => {
        for await (const _ of a.requestMany("a.>", enc.encode("x"), { maxWaitMs: 1_000 }));
      };
      await expect(many()).rejects.toBeInstanceOf(InvalidSubjectError);
    });

    it("answers a request with the responder's bytes", async () => {
      const { a, b, net } = await open();
      b.subscribe("svc.echo", (m) => m.respond(enc.encode(`echo:${dec.decode(m.data)}`)));
      await net.settle();
      const reply = await a.request("svc.echo", enc.encode("ping"), { timeoutMs: 2_000 });
      expect(dec.decode(reply)).toBe("echo:ping");
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => a.request("svc.echo", enc.encode(`${i}`), { timeoutMs: 2_000 })),
      );
      expect(replies.map((r) => dec.decode(r))).toEqual(Array.from({ length: 50 }, (_, i) => `echo:${i}`));
    });

    it("times out a request nobody answers with TimeoutError, and aborts with AbortError", async () => {
      const { a, b, net } = await open();
      b.subscribe("svc.silent", () => undefined);
      await net.settle();
      const started = Date.now();
      const err = await a.request("svc.silent", enc.encode("x"), { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toBe('request on "svc.silent" timed out after 200 ms');
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);

      const ctrl = new AbortController();
      const pending = a.request("svc.silent", enc.encode("x"), { timeoutMs: 5_000, signal: ctrl.signal });
      setTimeout(() => ctrl.abort(), 20);
      await expect(pending).rejects.toBeInstanceOf(AbortError);
      await expect(
        a.request("svc.silent", enc.encode("x"), { timeoutMs: 5_000, signal: AbortSignal.abort() }),
      ).rejects.toThrow("request on svc.silent was aborted");
    });

    it("fails a request to a subject without subscribers with NoRespondersError, at once", async () => {
      const { a } = await open();
      const started = Date.now();
      const err = await a
        .request("svc.nobody", enc.encode("x"), { timeoutMs: 5_000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoRespondersError);
      expect((err as NoRespondersError).message).toBe('no responders on subject "svc.nobody"');
      expect((err as NoRespondersError).subject).toBe("svc.nobody");
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("gathers replies from N responders with requestMany", async () => {
      const { a, b, net } = await open();
      const c = await net.connect();
      const responders = [b, c, b, c];
      responders.forEach((bus, i) =>
        bus.subscribe("svc.many", (m) => m.respond(enc.encode(`r${i}:${dec.decode(m.data)}`))),
      );
      await net.settle();
      const got: string[] = [];
      const started = Date.now();
      for await (const r of a.requestMany("svc.many", enc.encode("q"), { maxWaitMs: 400 }))
        got.push(dec.decode(r));
      expect(got.sort()).toEqual(["r0:q", "r1:q", "r2:q", "r3:q"]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);

      // Breaking out early stops the gathering at once.
      const early = Date.now();
      for await (const _ of a.requestMany("svc.many", enc.encode("q"), { maxWaitMs: 5_000 })) break;
      expect(Date.now() - early).toBeLessThan(1_000);

      // Nobody listening: an empty result, without waiting out maxWaitMs.
      const empty = Date.now();
      const none: Uint8Array[] = [];
      for await (const r of a.requestMany("svc.none", enc.encode("q"), { maxWaitMs: 3_000 })) none.push(r);
      expect(none).toEqual([]);
      expect(Date.now() - empty).toBeLessThan(2_000);

      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(), 50);
      const aborted = (async () => {
        for await (const _ of a.requestMany("svc.many", enc.encode("q"), {
          maxWaitMs: 5_000,
          signal: ctrl.signal,
        }));
      })();
      await expect(aborted).rejects.toBeInstanceOf(AbortError);
    });

    describe("byte streams", () => {
      const setup = async (): Promise<{ sender: StreamSender; alice: SignedNode; bob: SignedNode }> => {
        const { a, b, net } = await open();
        const alice = new SignedNode({ bus: a, identity: NodeIdentity.generate() });
        const bob = new SignedNode({ bus: b, identity: NodeIdentity.generate() });
        const sender = new StreamSender({ node: alice });
        await net.settle();
        return { sender, alice, bob };
      };

      it("streams 0 B and 1 B", async () => {
        const { sender, alice, bob } = await setup();
        const empty = sender.offer(patterned(randomBytes(70_000), 0), { to: bob.nodeId, size: 0 });
        const got0 = await sha256Of(receiveStream({ node: bob, from: alice.nodeId, offer: empty }));
        expect(got0).toEqual({ hex: createHash("sha256").digest("hex"), bytes: 0 });

        const one = sender.offer(Readable.from([Buffer.from([0x2a])]), { to: bob.nodeId, size: 1 });
        const chunks: Buffer[] = [];
        for await (const c of receiveStream({ node: bob, from: alice.nodeId, offer: one }))
          chunks.push(c as Buffer);
        expect([...Buffer.concat(chunks)]).toEqual([0x2a]);
        expect(sender.active).toBe(0);
      });

      it("streams 100 MiB with the content intact", async () => {
        const { sender, alice, bob } = await setup();
        const seed = randomBytes(1024 * 1024 + 65_536);
        const blocks = 1600; // 1600 × 64 KiB = 100 MiB
        const expected = await sha256Of(patterned(seed, blocks));
        expect(expected.bytes).toBe(100 * 1024 * 1024);
        const offer = sender.offer(patterned(seed, blocks), { to: bob.nodeId, size: expected.bytes });
        const got = await sha256Of(receiveStream({ node: bob, from: alice.nodeId, offer }));
        expect(got).toEqual(expected);
        expect(sender.active).toBe(0);
      });

      it("frees both sides when the receiver aborts mid-stream", async () => {
        const { sender, alice, bob } = await setup();
        let released = false;
        const offer = sender.offer(
          patterned(randomBytes(1024 * 1024 + 65_536), 160, () => (released = true)),
          {
            to: bob.nodeId,
            size: 160 * 65_536,
          },
        );
        const ctrl = new AbortController();
        const stream = receiveStream({ node: bob, from: alice.nodeId, offer, signal: ctrl.signal });
        let bytes = 0;
        const err = await (async () => {
          for await (const c of stream) {
            bytes += (c as Buffer).byteLength;
            if (bytes >= 1024 * 1024) ctrl.abort();
          }
        })().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StreamAbortedError);
        expect((err as StreamAbortedError).by).toBe("receiver");
        expect(bytes).toBeLessThan(160 * 65_536);
        for (let i = 0; i < 100 && (sender.active > 0 || !released); i++) await sleep(20);
        expect(sender.active).toBe(0);
        expect(released).toBe(true);
      });

      it("frees both sides when the sender aborts mid-stream", async () => {
        const { sender, alice, bob } = await setup();
        let released = false;
        const ctrl = new AbortController();
        const offer = sender.offer(
          patterned(randomBytes(1024 * 1024 + 65_536), 160, () => (released = true)),
          {
            to: bob.nodeId,
            size: 160 * 65_536,
            signal: ctrl.signal,
          },
        );
        const stream = receiveStream({ node: bob, from: alice.nodeId, offer });
        let bytes = 0;
        const err = await (async () => {
          for await (const c of stream) {
            bytes += (c as Buffer).byteLength;
            if (bytes >= 1024 * 1024 && !ctrl.signal.aborted) ctrl.abort();
          }
        })().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StreamAbortedError);
        expect((err as Error).message).toBe(
          `stream ${offer.streamId} was aborted by the sender: aborted by the sender`,
        );
        expect(released).toBe(true);
        expect(sender.active).toBe(0);
        expect(stream.destroyed).toBe(true);
      });
    });
  });
}
