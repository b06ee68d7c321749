/** receiveStream: integrity checks, timeouts and aborts. */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { SizeLimitError, TimeoutError } from "../../../src/errors.js";
import {
  DEFAULT_STREAM_WINDOW,
  MAX_STREAM_WINDOW,
  StreamAbortedError,
  StreamIntegrityError,
  receiveStream,
} from "../../../src/transport/index.js";
import type { Pair } from "./stream-helpers.js";
import { counting, pair, readAll, sleep } from "./stream-helpers.js";

describe("receiveStream", () => {
  let p: Pair;
  afterEach(async () => {
    p.sender.close();
    await p.bus.close();
  });

  it("delivers the bytes and checks a declared sha256", async () => {
    p = pair({ chunkSize: 4096 });
    const expected = await readAll(counting(10, 1000).source);
    const sha256 = createHash("sha256").update(expected).digest("hex");
    const offer = p.sender.offer(counting(10, 1000).source, { to: p.bob.nodeId, size: 10_000, sha256 });
    expect(
      (await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer }))).equals(expected),
    ).toBe(true);
  });

  it("keeps DEFAULT_STREAM_WINDOW pulls in flight, and at most MAX_STREAM_WINDOW", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    try {
      for (const [window, expected] of [
        [undefined, DEFAULT_STREAM_WINDOW],
        [1000, MAX_STREAM_WINDOW],
      ] as const) {
        p = pair({ chunkSize: 1024 });
        const { source, state } = counting(64, 1024);
        const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 64 * 1024 });
        const stream = receiveStream({
          node: p.bob,
          from: p.alice.nodeId,
          offer,
          ...(window === undefined ? {} : { window }),
        });
        stream.pause();
        stream.read(0); // the consumer reads nothing: only the window is pulled
        await sleep(50);
        expect(state.read).toBe(expected * 1024);
        expect((await readAll(stream)).byteLength).toBe(64 * 1024);
        p.sender.close();
        await p.bus.close();
      }
      await sleep(0);
      expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("fails with StreamIntegrityError when the content does not match the declared sha256", async () => {
    p = pair();
    const offer = p.sender.offer(counting(10, 1000).source, {
      to: p.bob.nodeId,
      size: 10_000,
      sha256: "0".repeat(64),
    });
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamIntegrityError);
    expect((err as Error).message).toMatch(
      new RegExp(`^stream ${offer.streamId}: sha256 mismatch: expected 0{64}, got [0-9a-f]{64}$`),
    );
  });

  it("fails when the offer declares another size than the sender serves", async () => {
    p = pair({ chunkSize: 1000 });
    const offer = p.sender.offer(counting(3, 1000).source, { to: p.bob.nodeId, size: 3000 });
    const lying = { ...offer, size: 2000 };
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer: lying })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamIntegrityError);
    expect((err as Error).message).toMatch(/chunk 1 marks last=false$/);
  });

  it("refuses an offer above maxBytes, or a malformed one, before pulling, and frees the sender", async () => {
    p = pair();
    const { source, state } = counting(10, 1000);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 10_000 });
    const err = await readAll(
      receiveStream({ node: p.bob, from: p.alice.nodeId, offer, maxBytes: 9_999 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toBe(
      `stream ${offer.streamId} of 10000 bytes exceeds the limit of 9999 bytes`,
    );
    for (let i = 0; i < 50 && p.sender.active > 0; i++) await sleep(10);
    expect(p.sender.active).toBe(0);
    expect(state.read).toBe(0);
    const bad = await readAll(
      receiveStream({ node: p.bob, from: p.alice.nodeId, offer: { ...offer, chunkSize: 0 } }),
    ).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(StreamIntegrityError);
    expect((bad as Error).message).toBe(`stream ${offer.streamId}: offer declares an invalid chunk size 0`);
  });

  it("times out when the sender does not answer a pull", async () => {
    p = pair();
    const offer = { streamId: "nobody-serves-this", size: 10, chunkSize: 10 };
    p.sender.close(); // alice no longer serves streams
    p.alice.bus.subscribe(`agora.node.${p.alice.nodeId}.stream`, () => undefined); // swallows pulls
    const err = await readAll(
      receiveStream({ node: p.bob, from: p.alice.nodeId, offer, idleTimeoutMs: 50 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe("stream nobody-serves-this: no chunk within 50 ms");
  });

  it("aborts with an already aborted signal and tells the sender", async () => {
    p = pair();
    const { source, state } = counting(10, 1000);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 10_000 });
    const stream = receiveStream({ node: p.bob, from: p.alice.nodeId, offer, signal: AbortSignal.abort() });
    const err = await readAll(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamAbortedError);
    expect((err as StreamAbortedError).by).toBe("receiver");
    for (let i = 0; i < 50 && p.sender.active > 0; i++) await sleep(10);
    expect(p.sender.active).toBe(0);
    expect(state.read).toBe(0);
  });

  it("frees the sender when the consumer destroys the Readable", async () => {
    p = pair({ chunkSize: 1000 });
    const { source, state } = counting(100, 1000);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 100_000 });
    const stream = receiveStream({ node: p.bob, from: p.alice.nodeId, offer });
    for await (const _ of stream) break; // destroys the stream
    for (let i = 0; i < 50 && p.sender.active > 0; i++) await sleep(10);
    expect(p.sender.active).toBe(0);
    expect(state.released).toBe(true);
    expect(state.read).toBeLessThan(100_000);
  });
});
