/**
 * Transport benchmark (issue 3): request/reply RTT and stream throughput of Agora's signed layer
 * on MemoryBus and NatsBus, next to a raw `nats` client baseline measured in the same run against
 * the same nats-server. Targets over NATS: RTT ≤ 1.3× raw (signing included), throughput ≥ 0.8× raw.
 *
 * Also measured, to explain the RTT: the Ed25519 floor (raw request/reply that also does the 2
 * signs + 2 verifies of envelope-sized bytes, and the same from tight-loop timings), and a bench-only prototype of per-peer session keys (X25519 handshake
 * with Ed25519-signed ephemeral keys, then HMAC-SHA256 per message) that is NOT wired into
 * SignedNode: it only shows the ratio such a design could reach.
 *
 * Run alone: `npx tsx test/bench/transport.bench.ts`.
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import type { KeyObject } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { connect } from "nats";
import type { NatsConnection } from "nats";
import { z } from "zod";
import {
  NodeIdentity,
  PROTOCOL_VERSION,
  ReplayGuard,
  canonicalJson,
  decodeFrame,
  encodeFrame,
  idSchema,
  isMessageType,
  messageSchemas,
  nodeIdSchema,
  signEnvelope,
  systemClock,
} from "../../src/protocol/index.js";
import type { MessageBody, MessageType, NodeId } from "../../src/protocol/index.js";
import {
  DEFAULT_STREAM_WINDOW,
  MemoryBus,
  NatsBus,
  SignedNode,
  StreamSender,
  receiveStream,
} from "../../src/transport/index.js";
import type { Bus } from "../../src/transport/index.js";
import { NatsServer } from "../integration/helpers/nats-server.js";
import { isMain, mibPerSec, percentile, printTable, timeMs } from "./report.js";
import type { Row } from "./report.js";

const ROUNDS = 5;
const REQUESTS_PER_ROUND = 400;
const STREAM_BYTES = 100 * 1024 * 1024;
const CHUNK = 512 * 1024;
const STREAM_ROUNDS = 5;

/** A small message body, about the size of a typical market/activity message. */
const small: MessageBody<"AgreementRejected"> = { agreementId: "agreement-0001", reason: "x".repeat(120) };
const smallBytes = new Uint8Array(200);

const median = (xs: readonly number[]): number => percentile(xs, 50);

async function loop(samples: number[], n: number, once: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    samples.push(performance.now() - t);
  }
}

const rawRtt = (nc: NatsConnection, samples: number[], n: number): Promise<void> =>
  loop(samples, n, () => nc.request("bench.raw.echo", smallBytes, { timeout: 5_000 }));

/**
 * The in-situ Ed25519 floor: raw nats.js request/reply where the requester signs the request and
 * verifies the reply and the responder verifies the request and signs the reply (the canonical
 * bytes of real envelopes), with nothing else (no envelope, schema or replay checks). Crypto timed
 * between network waits runs slower than in a tight loop (colder caches), so this is the floor
 * SignedNode is measured against.
 */
function ed25519Echo(
  rawB: NatsConnection,
): (nc: NatsConnection, samples: number[], n: number) => Promise<void> {
  const client = generateKeyPairSync("ed25519");
  const server = generateKeyPairSync("ed25519");
  const request = Buffer.from(
    canonicalJson({ type: "AgreementRejected", body: small, pad: "x".repeat(250) }),
  );
  const reply = Buffer.from(canonicalJson({ type: "Ack", body: {}, pad: "x".repeat(250) }));
  const frame = (data: Buffer, key: KeyObject): Uint8Array => Buffer.concat([sign(null, data, key), data]);
  const check = (msg: Uint8Array, key: KeyObject): void => {
    if (!verify(null, msg.subarray(64), key, msg.subarray(0, 64))) throw new Error("bad signature");
  };
  rawB.subscribe("bench.raw.ed25519", {
    callback: (_e, m) => {
      check(m.data, client.publicKey);
      m.respond(frame(reply, server.privateKey));
    },
  });
  return (nc, samples, n) =>
    loop(samples, n, async () => {
      const answer = await nc.request("bench.raw.ed25519", frame(request, client.privateKey), {
        timeout: 5_000,
      });
      check(answer.data, server.publicKey);
    });
}

const busRtt = (bus: Bus, samples: number[], n: number): Promise<void> =>
  loop(samples, n, () => bus.request("bench.bus.echo", smallBytes, { timeoutMs: 5_000 }));

function signedRtt(from: SignedNode, to: SignedNode, samples: number[], n: number): Promise<void> {
  const subject = `agora.node.${to.nodeId}.bench`;
  const msg = { type: "AgreementRejected", body: small } as const;
  return loop(samples, n, () => from.request(subject, to.nodeId, msg, { timeoutMs: 5_000, expect: "Ack" }));
}

/** The same content for every transfer: 512 KiB slices of one random buffer. */
function source(seed: Uint8Array, bytes: number): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let off = 0; off < bytes; off += CHUNK) yield seed.subarray(0, Math.min(CHUNK, bytes - off));
    },
  };
}

/**
 * The raw baseline of a pull-based transfer: one request per 512 KiB chunk, unsigned, unhashed,
 * with `window` requests in flight (1: strictly one after another).
 */
async function rawStream(nc: NatsConnection, window: number): Promise<number> {
  const chunks = Math.ceil(STREAM_BYTES / CHUNK);
  return timeMs(async () => {
    let got = 0;
    let next = 0;
    const inflight: Promise<{ data: Uint8Array }>[] = [];
    while (got < STREAM_BYTES) {
      while (inflight.length < window && next++ < chunks) {
        inflight.push(nc.request("bench.raw.chunk", smallBytes, { timeout: 5_000 }));
      }
      got += (await inflight.shift()!).data.byteLength;
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

/**
 * Median microseconds of one Ed25519 sign and one verify of a real small envelope's canonical
 * bytes, each timed alone (a median of single operations shrugs off preemption on a busy machine).
 */
function ed25519Us(): { sign: number; verify: number } {
  const identity = NodeIdentity.generate();
  const { envelope } = signEnvelope(
    identity,
    { type: "AgreementRejected", to: NodeIdentity.generate().nodeId, body: small },
    systemClock,
  );
  const { sig: _sig, ...unsigned } = envelope;
  const data = Buffer.from(canonicalJson(unsigned));
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const sig = sign(null, data, privateKey);
  const signs: number[] = [];
  const verifies: number[] = [];
  for (let i = 0; i < 3_000; i++) {
    let t = performance.now();
    sign(null, data, privateKey);
    signs.push(performance.now() - t);
    t = performance.now();
    verify(null, data, publicKey, sig);
    verifies.push(performance.now() - t);
  }
  return { sign: median(signs.slice(500)) * 1000, verify: median(verifies.slice(500)) * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Bench-only prototype of per-peer session keys (NOT wired into SignedNode). Once per peer pair:
// each side sends an X25519 ephemeral public key signed with its Ed25519 identity; both derive
// an HMAC key with HKDF-SHA256 over the shared secret. Per message: the same envelope, frame,
// schema checks, skew window and replay guard as SignedNode, with `mac` (HMAC-SHA256 over the
// canonical JSON) in place of the Ed25519 `sig`.
// ---------------------------------------------------------------------------------------------

const sessionHeader = z.object({
  v: z.literal(PROTOCOL_VERSION),
  type: z.string().max(64),
  id: idSchema,
  from: nodeIdSchema,
  to: nodeIdSchema,
  ts: z.number().int().nonnegative(),
  re: idSchema.optional(),
  body: z.unknown(),
  mac: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

class SessionPeer {
  readonly identity = NodeIdentity.generate();
  readonly #ephemeral = generateKeyPairSync("x25519");
  readonly #keys = new Map<NodeId, Buffer>();
  readonly #guard = new ReplayGuard({ windowMs: 60_000 });

  /** This side's handshake: its ephemeral X25519 public key, signed by its identity. */
  hello(): { from: NodeId; eph: Buffer; sig: Uint8Array } {
    const eph = this.#ephemeral.publicKey.export({ format: "der", type: "spki" });
    return { from: this.identity.nodeId, eph, sig: this.identity.sign(eph) };
  }

  /** Check the peer's signed ephemeral key and derive the session key. */
  accept(hello: { from: NodeId; eph: Buffer; sig: Uint8Array }): void {
    const idKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: hello.from }, format: "jwk" });
    if (!verify(null, hello.eph, idKey, hello.sig)) throw new Error("bad handshake signature");
    const secret = diffieHellman({
      privateKey: this.#ephemeral.privateKey,
      publicKey: createPublicKey({ key: hello.eph, format: "der", type: "spki" }),
    });
    const ids = [this.identity.nodeId, hello.from].sort().join(".");
    this.#keys.set(hello.from, Buffer.from(hkdfSync("sha256", secret, ids, "agora session v1", 32)));
  }

  seal(to: NodeId, type: MessageType, body: unknown, re?: string): Uint8Array {
    const key = this.#keys.get(to);
    if (!key) throw new Error("no session");
    const unsigned = {
      v: PROTOCOL_VERSION,
      type,
      id: randomUUID(),
      from: this.identity.nodeId,
      to,
      ts: Date.now(),
      ...(re === undefined ? {} : { re }),
      body,
    };
    const canonical = canonicalJson(unsigned);
    const mac = createHmac("sha256", key).update(canonical).digest("base64url");
    return encodeFrame(`${canonical.slice(0, -1)},"mac":${JSON.stringify(mac)}}`);
  }

  open(frame: Uint8Array): { id: string; from: NodeId; type: string } {
    const { json } = decodeFrame(frame);
    const header = sessionHeader.parse(json);
    if (header.to !== this.identity.nodeId) throw new Error("wrong recipient");
    if (Math.abs(Date.now() - header.ts) > 60_000) throw new Error("stale");
    if (!isMessageType(header.type)) throw new Error("unknown type");
    messageSchemas[header.type].parse(header.body);
    const key = this.#keys.get(header.from);
    if (!key) throw new Error("no session");
    const { mac, ...unsigned } = header;
    const want = createHmac("sha256", key).update(canonicalJson(unsigned)).digest();
    if (!timingSafeEqual(want, Buffer.from(mac, "base64url"))) throw new Error("bad mac");
    if (this.#guard.check(header.id, header.ts) !== "ok") throw new Error("replay");
    this.#guard.remember(header.id, header.ts, Date.now());
    return header;
  }
}

function sessionPair(a: Bus, b: Bus): () => Promise<void> {
  const client = new SessionPeer();
  const server = new SessionPeer();
  client.accept(server.hello());
  server.accept(client.hello());
  const subject = `agora.node.${server.identity.nodeId}.session`;
  b.subscribe(subject, (m) => {
    const req = server.open(m.data);
    m.respond(server.seal(req.from, "Ack", {}, req.id));
  });
  return async () => {
    const data = client.seal(server.identity.nodeId, "AgreementRejected", small);
    const reply = client.open(await a.request(subject, data, { timeoutMs: 5_000 }));
    if (reply.type !== "Ack") throw new Error(`unexpected ${reply.type}`);
  };
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
    const ed25519Rtt = ed25519Echo(rawB);
    const overNats = signedPair(natsA, natsB);
    const overMemory = signedPair(memory, memory);
    const sessionRequest = sessionPair(natsA, natsB);
    await Promise.all([rawB.flush(), natsB.flush()]);

    // Warm up every path (JIT, key caches, connections).
    await rawRtt(rawA, [], 300);
    await ed25519Rtt(rawA, [], 300);
    await busRtt(natsA, [], 300);
    await signedRtt(overNats.client, overNats.server, [], 300);
    await signedRtt(overMemory.client, overMemory.server, [], 300);
    await loop([], 300, sessionRequest);

    // Interleave rounds so that load from elsewhere on the machine hits every path alike.
    const raw: number[] = [];
    const bus: number[] = [];
    const signedNats: number[] = [];
    const signedMemory: number[] = [];
    const session: number[] = [];
    const ed25519Floor: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await rawRtt(rawA, raw, REQUESTS_PER_ROUND);
      await ed25519Rtt(rawA, ed25519Floor, REQUESTS_PER_ROUND);
      await busRtt(natsA, bus, REQUESTS_PER_ROUND);
      await signedRtt(overNats.client, overNats.server, signedNats, REQUESTS_PER_ROUND);
      await signedRtt(overMemory.client, overMemory.server, signedMemory, REQUESTS_PER_ROUND);
      await loop(session, REQUESTS_PER_ROUND, sessionRequest);
    }
    const ed = ed25519Us();

    const streams = {
      raw1: [] as number[],
      rawW: [] as number[],
      nats: [] as number[],
      natsKnownSha: [] as number[],
      memory: [] as number[],
    };
    const seedSha = createHash("sha256");
    for (let off = 0; off < STREAM_BYTES; off += CHUNK) seedSha.update(seed);
    const knownSha = seedSha.digest("hex");
    for (let r = 0; r < STREAM_ROUNDS; r++) {
      streams.raw1.push(await rawStream(rawA, 1));
      streams.rawW.push(await rawStream(rawA, DEFAULT_STREAM_WINDOW));
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
    const stream = (metric: string, ms: number[], rawMs: number[], target?: number): Row => ({
      metric: `stream 100 MiB, ${metric}`,
      unit: "MiB/s",
      raw: mibPerSec(STREAM_BYTES, median(rawMs)),
      agora: mibPerSec(STREAM_BYTES, median(ms)),
      better: "higher",
      ...(target === undefined ? {} : { target }),
    });
    const w = DEFAULT_STREAM_WINDOW;
    const rows: Row[] = [
      rtt("NatsBus (bus layer, unsigned)", bus, 50),
      rtt("SignedNode on NatsBus", signedNats, 50, 1.3),
      rtt("SignedNode on NatsBus", signedNats, 95, 1.3),
      rtt("floor: raw + 2 Ed25519 signs + 2 verifies in the request path", ed25519Floor, 50),
      {
        metric: `RTT p50, raw + 2 signs (${ed.sign.toFixed(0)} µs) + 2 verifies (${ed.verify.toFixed(0)} µs) timed in a tight loop`,
        unit: "µs",
        raw: us(raw, 50),
        agora: us(raw, 50) + 2 * (ed.sign + ed.verify),
        better: "lower",
      },
      rtt("prototype: X25519 session key + HMAC-SHA256 on NatsBus", session, 50, 1.3),
      rtt("SignedNode on MemoryBus", signedMemory, 50),
      rtt("SignedNode on MemoryBus", signedMemory, 95),
      stream(`NatsBus vs raw with ${w} pulls in flight`, streams.nats, streams.rawW, 0.8),
      stream(`NatsBus, sha256 declared, vs raw with ${w} in flight`, streams.natsKnownSha, streams.rawW, 0.8),
      stream("NatsBus vs raw with 1 pull in flight", streams.nats, streams.raw1),
      stream(`MemoryBus vs raw (NATS) with ${w} in flight`, streams.memory, streams.rawW),
    ];
    printTable("Transport: Agora vs raw nats client (same nats-server, same run)", rows);
    console.log(
      `raw = nats.js request/reply on the same server (RTT: ${ROUNDS * REQUESTS_PER_ROUND} requests of 200 B; ` +
        `stream: one request per 512 KiB chunk, unsigned, unhashed, median of ${STREAM_ROUNDS}). Agora RTT signs ` +
        "and verifies request and reply (Ed25519). Agora streams sign every pull and chunk header and sha256 " +
        `the content (the sender too unless the offer declares it), with ${w} pulls in flight; sender and ` +
        `receiver share this one process. Load average at the end: ${loadavg()
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
