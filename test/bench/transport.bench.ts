/**
 * Transport benchmark (issue 3): request/reply RTT and stream throughput of Agora's signed layer
 * on MemoryBus and NatsBus, next to a raw `nats` client baseline measured in the same run against
 * the same nats-server. Targets over NATS: RTT ≤ 1.3× raw (signing included), throughput ≥ 0.8× raw.
 *
 * Run alone: `npx tsx test/bench/transport.bench.ts`.
 */
import { createHash, randomBytes } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { connect } from "nats";
import type { NatsConnection } from "nats";
import { NodeIdentity } from "../../src/protocol/index.js";
import type { MessageBody } from "../../src/protocol/index.js";
import { MemoryBus, NatsBus, SignedNode, StreamSender, receiveStream } from "../../src/transport/index.js";
import type { Bus } from "../../src/transport/index.js";
import { NatsServer } from "../integration/helpers/nats-server.js";
import { isMain, mibPerSec, percentile, printTable, timeMs } from "./report.js";
import type { Row } from "./report.js";

const ROUNDS = 5;
const REQUESTS_PER_ROUND = 400;
const STREAM_BYTES = 100 * 1024 * 1024;
const CHUNK = 512 * 1024;
const STREAM_ROUNDS = 3;

/** A small message body, about the size of a typical market/activity message. */
const small: MessageBody<"AgreementRejected"> = { agreementId: "agreement-0001", reason: "x".repeat(120) };
const smallBytes = new Uint8Array(200);

const median = (xs: readonly number[]): number => percentile(xs, 50);

async function rawRtt(nc: NatsConnection, samples: number[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await nc.request("bench.raw.echo", smallBytes, { timeout: 5_000 });
    samples.push(performance.now() - t);
  }
}

async function busRtt(bus: Bus, samples: number[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await bus.request("bench.bus.echo", smallBytes, { timeoutMs: 5_000 });
    samples.push(performance.now() - t);
  }
}

async function signedRtt(from: SignedNode, to: SignedNode, samples: number[], n: number): Promise<void> {
  const subject = `agora.node.${to.nodeId}.bench`;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await from.request(
      subject,
      to.nodeId,
      { type: "AgreementRejected", body: small },
      { timeoutMs: 5_000, expect: "Ack" },
    );
    samples.push(performance.now() - t);
  }
}

/** The same content for every transfer: 512 KiB slices of one random buffer. */
function source(seed: Uint8Array, bytes: number): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let off = 0; off < bytes; off += CHUNK) yield seed.subarray(0, Math.min(CHUNK, bytes - off));
    },
  };
}

/** The raw baseline of a pull-based transfer: one request per 512 KiB chunk, no signing, no hashing. */
async function rawStream(nc: NatsConnection): Promise<number> {
  const chunks = Math.ceil(STREAM_BYTES / CHUNK);
  return timeMs(async () => {
    let got = 0;
    for (let seq = 0; seq < chunks; seq++) {
      const reply = await nc.request("bench.raw.chunk", smallBytes, { timeout: 5_000 });
      got += reply.data.byteLength;
    }
    if (got !== STREAM_BYTES) throw new Error(`raw stream got ${got} bytes`);
  });
}

/** Pull 100 MiB from `server` to `client`; with `sha256` the offer declares it and the sender does not hash. */
async function agoraStream(
  { sender, server, client }: { sender: StreamSender; server: SignedNode; client: SignedNode },
  seed: Uint8Array,
  sha256?: string,
): Promise<number> {
  return timeMs(async () => {
    const offer = sender.offer(source(seed, STREAM_BYTES), {
      to: client.nodeId,
      size: STREAM_BYTES,
      ...(sha256 === undefined ? {} : { sha256 }),
    });
    let got = 0;
    for await (const c of receiveStream({ node: client, from: server.nodeId, offer })) {
      got += (c as Buffer).byteLength;
    }
    if (got !== STREAM_BYTES) throw new Error(`agora stream got ${got} bytes`);
  });
}

/** Microseconds of 2 signs + 2 verifies of a small envelope: what per-message signing adds to an RTT. */
function cryptoFloorUs(): number {
  const a = new SignedNode({ bus: new MemoryBus(), identity: NodeIdentity.generate() });
  const b = new SignedNode({ bus: new MemoryBus(), identity: NodeIdentity.generate() });
  const n = 2_000;
  const frames: Uint8Array[] = [];
  const sealMs = timeSync(() => {
    for (let i = 0; i < n; i++)
      frames.push(a.seal(b.nodeId, { type: "AgreementRejected", body: small }).frame);
  });
  const openMs = timeSync(() => {
    for (const f of frames) b.open(f, "bench");
  });
  return ((sealMs + openMs) / n) * 2 * 1000;
}

function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function signedPair(a: Bus, b: Bus): { client: SignedNode; server: SignedNode; sender: StreamSender } {
  const client = new SignedNode({ bus: a, identity: NodeIdentity.generate() });
  const server = new SignedNode({ bus: b, identity: NodeIdentity.generate() });
  server.serve(`agora.node.${server.nodeId}.bench`, () => ({ type: "Ack", body: {} }));
  return { client, server, sender: new StreamSender({ node: server }) };
}

export async function run(): Promise<void> {
  const server = await NatsServer.start();
  const seed = randomBytes(CHUNK);
  const rawA = await connect({ servers: server.url });
  const rawB = await connect({ servers: server.url });
  const natsA = await NatsBus.connect({ servers: server.url });
  const natsB = await NatsBus.connect({ servers: server.url });
  const memory = new MemoryBus();
  try {
    rawB.subscribe("bench.raw.echo", { callback: (_e, m) => m.respond(m.data) });
    rawB.subscribe("bench.raw.chunk", { callback: (_e, m) => m.respond(seed) });
    natsB.subscribe("bench.bus.echo", (m) => m.respond(m.data));
    const overNats = signedPair(natsA, natsB);
    const overMemory = signedPair(memory, memory);
    await Promise.all([rawB.flush(), natsB.flush()]);

    // Warm up every path (JIT, key caches, connections).
    await rawRtt(rawA, [], 300);
    await busRtt(natsA, [], 300);
    await signedRtt(overNats.client, overNats.server, [], 300);
    await signedRtt(overMemory.client, overMemory.server, [], 300);

    // Interleave rounds so that load from elsewhere on the machine hits every path alike.
    const raw: number[] = [];
    const bus: number[] = [];
    const signedNats: number[] = [];
    const signedMemory: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await rawRtt(rawA, raw, REQUESTS_PER_ROUND);
      await busRtt(natsA, bus, REQUESTS_PER_ROUND);
      await signedRtt(overNats.client, overNats.server, signedNats, REQUESTS_PER_ROUND);
      await signedRtt(overMemory.client, overMemory.server, signedMemory, REQUESTS_PER_ROUND);
    }

    const streams = {
      raw: [] as number[],
      nats: [] as number[],
      natsKnownSha: [] as number[],
      memory: [] as number[],
    };
    const seedSha = createHash("sha256");
    for (let off = 0; off < STREAM_BYTES; off += CHUNK) seedSha.update(seed);
    const knownSha = seedSha.digest("hex");
    for (let r = 0; r < STREAM_ROUNDS; r++) {
      streams.raw.push(await rawStream(rawA));
      streams.nats.push(await agoraStream(overNats, seed));
      streams.natsKnownSha.push(await agoraStream(overNats, seed, knownSha));
      streams.memory.push(await agoraStream(overMemory, seed));
    }

    const us = (samples: number[], p: number): number => percentile(samples, p) * 1000;
    const rtt = (metric: string, samples: number[], p: number, target?: number): Row => ({
      metric: `RTT p${p}, ${metric}`,
      unit: "µs",
      raw: us(raw, p),
      agora: us(samples, p),
      better: "lower",
      ...(target === undefined ? {} : { target }),
    });
    const rawMibs = mibPerSec(STREAM_BYTES, median(streams.raw));
    const stream = (metric: string, ms: number[], target?: number): Row => ({
      metric: `stream 100 MiB, ${metric}`,
      unit: "MiB/s",
      raw: rawMibs,
      agora: mibPerSec(STREAM_BYTES, median(ms)),
      better: "higher",
      ...(target === undefined ? {} : { target }),
    });
    const floor = cryptoFloorUs();
    const rows: Row[] = [
      rtt("NatsBus (bus layer, unsigned)", bus, 50),
      rtt("SignedNode on NatsBus", signedNats, 50, 1.3),
      rtt("SignedNode on NatsBus", signedNats, 95, 1.3),
      {
        metric: "RTT p50, floor: raw + 2 Ed25519 signs + 2 verifies",
        unit: "µs",
        raw: us(raw, 50),
        agora: us(raw, 50) + floor,
        better: "lower",
      },
      rtt("SignedNode on MemoryBus", signedMemory, 50),
      rtt("SignedNode on MemoryBus", signedMemory, 95),
      stream("NatsBus", streams.nats, 0.8),
      stream("NatsBus, sha256 declared by the offer", streams.natsKnownSha, 0.8),
      stream("MemoryBus", streams.memory),
    ];
    printTable("Transport: Agora vs raw nats client (same nats-server, same run)", rows);
    console.log(
      `raw = nats.js request/reply on the same server (RTT: ${ROUNDS * REQUESTS_PER_ROUND} requests of 200 B; ` +
        "stream: one request per 512 KiB chunk, unsigned, unhashed). Agora RTT signs and verifies request and " +
        "reply (Ed25519). Agora streams sign every pull and chunk header and sha256 the content (the sender too " +
        `unless the offer declares it). Load average at the end: ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")} on ${availableParallelism()} CPUs.`,
    );
    overNats.sender.close();
    overMemory.sender.close();
  } finally {
    await Promise.allSettled([natsA.close(), natsB.close(), rawA.close(), rawB.close(), memory.close()]);
    await server.stop();
  }
}

if (isMain(import.meta.url)) await run();
