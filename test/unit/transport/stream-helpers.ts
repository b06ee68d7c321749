/** Shared set-up for the stream tests: two signed nodes on one MemoryBus, and counting sources. */
import { NodeIdentity } from "../../../src/protocol/index.js";
import { MemoryBus, SignedNode, StreamSender } from "../../../src/transport/index.js";
import type { StreamSenderOptions } from "../../../src/transport/index.js";

export interface Pair {
  bus: MemoryBus;
  alice: SignedNode;
  bob: SignedNode;
  sender: StreamSender;
}

export function pair(opts: Partial<StreamSenderOptions> = {}): Pair {
  const bus = new MemoryBus();
  const alice = new SignedNode({ bus, identity: NodeIdentity.generate() });
  const bob = new SignedNode({ bus, identity: NodeIdentity.generate() });
  return { bus, alice, bob, sender: new StreamSender({ node: alice, ...opts }) };
}

/** `blocks` blocks of `size` bytes, each filled with its index; counts what was read. */
export function counting(blocks: number, size: number) {
  const state = { read: 0, released: false };
  const source: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; i < blocks; i++) {
          state.read += size;
          yield new Uint8Array(size).fill(i & 0xff);
        }
      } finally {
        state.released = true;
      }
    },
  };
  return { source, state };
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
