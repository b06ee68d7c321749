/** StreamSender: lazy reads, declared size, who may pull, idle timeout. */
import { afterEach, describe, expect, it } from "vitest";
import { ProtocolError, UserError } from "../../../src/errors.js";
import {
  StreamAbortedError,
  StreamSender,
  receiveStream,
  streamSubject,
} from "../../../src/transport/index.js";
import type { Pair } from "./stream-helpers.js";
import { counting, pair, readAll, sleep } from "./stream-helpers.js";

describe("StreamSender", () => {
  let p: Pair;
  afterEach(async () => {
    p.sender.close();
    await p.bus.close();
  });

  it("reads nothing before the first pull, and only a window ahead of the consumer", async () => {
    p = pair({ chunkSize: 1024 });
    const { source, state } = counting(64, 1024);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 64 * 1024 });
    expect(offer).toEqual({ streamId: offer.streamId, size: 65_536, chunkSize: 1024 });
    await sleep(20);
    expect(state.read).toBe(0);
    const stream = receiveStream({ node: p.bob, from: p.alice.nodeId, offer, window: 2 });
    stream.pause();
    stream.read(0); // one pull cycle, then backpressure
    await sleep(50);
    expect(state.read).toBeGreaterThan(0);
    expect(state.read).toBeLessThanOrEqual(4 * 1024);
    const all = await readAll(stream);
    expect(all.byteLength).toBe(65_536);
    expect(all[1024 * 5]).toBe(5);
    expect(state.released).toBe(true);
  });

  it("cuts chunks across source pieces of any size, byte for byte, and hashes them", async () => {
    p = pair({ chunkSize: 1000 });
    const pieces = [700, 1500, 1, 2799, 0, 1000, 3].map((n, i) => new Uint8Array(n).fill(i + 1));
    const expected = Buffer.concat(pieces);
    const source: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield* pieces;
      },
    };
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: expected.byteLength });
    const got = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer }));
    expect(got.equals(expected)).toBe(true);
  });

  it("aborts a source that ends before its declared size", async () => {
    p = pair({ chunkSize: 1000 });
    const { source, state } = counting(3, 1000);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 5000 });
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamAbortedError);
    expect((err as Error).message).toBe(
      `stream ${offer.streamId} was aborted by the sender: source ended after 3000 of 5000 bytes`,
    );
    expect(state.released).toBe(true);
    expect(p.sender.active).toBe(0);
  });

  it("aborts a source that holds more than its declared size", async () => {
    p = pair();
    const { source } = counting(3, 1000);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 2500 });
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamAbortedError);
    expect((err as Error).message).toMatch(/source is larger than the declared 2500 bytes$/);
  });

  it("aborts when the source fails, without telling the receiver the local error", async () => {
    p = pair({ chunkSize: 1000 });
    const failing: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield new Uint8Array(1000);
        throw new Error("EIO: /var/lib/agora/secret/path");
      },
    };
    const offer = p.sender.offer(failing, { to: p.bob.nodeId, size: 5000 });
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamAbortedError);
    expect((err as Error).message).toBe(
      `stream ${offer.streamId} was aborted by the sender: the sender's source failed`,
    );
    expect(p.sender.active).toBe(0);
  });

  it("lets only the node it was offered to pull", async () => {
    p = pair();
    const { source, state } = counting(1, 10);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 10 });
    expect(p.sender.subject).toBe(streamSubject(p.alice.nodeId));
    const thief = receiveStream({ node: p.alice, from: p.alice.nodeId, offer });
    const e = await readAll(thief).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as Error).message).toMatch(/answered PROTOCOL_ERROR: stream .* is not offered to you$/);
    expect(state.read).toBe(0);
    expect((await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer }))).byteLength).toBe(10);
  });

  it("frees a stream nobody pulls within the idle timeout", async () => {
    p = pair({ idleTimeoutMs: 50 });
    const { source, state } = counting(10, 10);
    const offer = p.sender.offer(source, { to: p.bob.nodeId, size: 100 });
    expect(p.sender.active).toBe(1);
    await sleep(120);
    expect(p.sender.active).toBe(0);
    expect(state.read).toBe(0);
    const err = await readAll(receiveStream({ node: p.bob, from: p.alice.nodeId, offer })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it("validates its options", () => {
    p = pair();
    expect(() => new StreamSender({ node: p.alice, chunkSize: 600 * 1024 })).toThrow(UserError);
    expect(() => p.sender.offer(counting(0, 0).source, { to: p.bob.nodeId, size: -1 })).toThrow(
      "stream size must be a non-negative integer, got -1",
    );
  });
});
