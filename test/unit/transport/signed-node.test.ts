/** SignedNode over MemoryBus: good messages reach handlers; every kind of bad one is dropped. */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MarketError, ProtocolError, SizeLimitError, TimeoutError } from "../../../src/errors.js";
import {
  BROADCAST,
  ManualClock,
  NodeIdentity,
  canonicalJson,
  encodeFrame,
  signEnvelope,
} from "../../../src/protocol/index.js";
import type { DropReason, MessageBody } from "../../../src/protocol/index.js";
import { MemoryBus, SignedNode } from "../../../src/transport/index.js";
import type { AnyInbound } from "../../../src/transport/index.js";

const T0 = 1_700_000_000_000;
const demand = (id = "d1"): MessageBody<"Demand"> => ({
  demandId: id,
  subnet: "devnet",
  spec: { properties: { "agora.inf.mem.gib": 1 }, constraints: "(agora.runtime.name=docker)" },
  expiresAt: T0 + 60_000,
});
const approved: MessageBody<"AgreementApproved"> = { agreementId: "a1", approvedAt: T0 };

/** Sign arbitrary fields with `signer` (which need not match `from`) and frame them. */
function forge(signer: NodeIdentity, fields: Record<string, unknown>, attachment?: Uint8Array): Uint8Array {
  const sig = Buffer.from(signer.sign(new TextEncoder().encode(canonicalJson(fields)))).toString("base64url");
  return encodeFrame(JSON.stringify({ ...fields, sig }), attachment);
}

describe("SignedNode", () => {
  let bus: MemoryBus;
  let clock: ManualClock;
  let alice: NodeIdentity;
  let bob: SignedNode;
  let logs: { reason?: DropReason; detail?: string; msg: string }[];
  let got: AnyInbound[];
  let subject: string;

  beforeEach(() => {
    bus = new MemoryBus({ maxPayload: 16 * 1024 * 1024 });
    clock = new ManualClock(T0);
    alice = NodeIdentity.generate();
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(JSON.parse(chunk.toString()) as (typeof logs)[number]);
        cb();
      },
    });
    bob = new SignedNode({
      bus,
      identity: NodeIdentity.generate(),
      clock,
      logger: pino({ level: "debug" }, sink),
    });
    subject = `agora.node.${bob.nodeId}.market`;
    got = [];
    bob.subscribe(subject, (msg) => void got.push(msg));
  });
  afterEach(() => bus.close());

  const valid = (over: Partial<Record<string, unknown>> = {}): Record<string, unknown> => ({
    v: 1,
    type: "AgreementApproved",
    id: `m-${Math.random().toString(36).slice(2)}`,
    from: alice.nodeId,
    to: bob.nodeId,
    ts: T0,
    body: approved,
    ...over,
  });

  /** Publish raw frames, then a good sentinel; resolve once the sentinel arrived (order is kept). */
  async function deliver(...frames: Uint8Array[]): Promise<void> {
    for (const f of frames) bus.publish(subject, f);
    const before = got.length;
    bus.publish(subject, forge(alice, valid({ id: `sentinel-${Math.random()}` })));
    for (let i = 0; i < 100 && got.length === before; i++) await new Promise((r) => setImmediate(r));
    expect(got.at(-1)?.envelope.id).toMatch(/^sentinel-/);
    got.pop();
  }

  it("delivers a valid message with its verified envelope", async () => {
    const sender = new SignedNode({ bus, identity: alice, clock });
    sender.send(subject, bob.nodeId, { type: "AgreementApproved", body: approved });
    await deliver();
    expect(got).toHaveLength(1);
    expect(got[0]!.envelope).toMatchObject({
      v: 1,
      type: "AgreementApproved",
      from: alice.nodeId,
      to: bob.nodeId,
    });
    expect(got[0]!.envelope.body).toEqual(approved);
    expect(bob.dropped).toBe(0);
  });

  const cases: [string, DropReason, () => Uint8Array][] = [
    [
      "a tampered body (bad signature)",
      "bad_signature",
      () => {
        const frame = forge(alice, valid());
        const json = JSON.parse(Buffer.from(frame.subarray(5)).toString()) as Record<string, unknown>;
        return encodeFrame(JSON.stringify({ ...json, body: { ...approved, agreementId: "a2" } }));
      },
    ],
    [
      "a valid signature by another key than `from`",
      "bad_signature",
      () => forge(NodeIdentity.generate(), valid()),
    ],
    [
      "a signature of the wrong length",
      "schema",
      () => {
        const frame = forge(alice, valid());
        const json = JSON.parse(Buffer.from(frame.subarray(5)).toString()) as Record<string, unknown>;
        return encodeFrame(JSON.stringify({ ...json, sig: "AAAA" }));
      },
    ],
    ["a ts older than the skew window", "stale", () => forge(alice, valid({ ts: T0 - 60_001 }))],
    ["a ts further ahead than the skew window", "stale", () => forge(alice, valid({ ts: T0 + 60_001 }))],
    [
      "another recipient",
      "wrong_recipient",
      () => forge(alice, valid({ to: NodeIdentity.generate().nodeId })),
    ],
    ["a broadcast of a direct-only type", "wrong_recipient", () => forge(alice, valid({ to: BROADCAST }))],
    ["a missing envelope field", "schema", () => forge(alice, { ...valid(), id: undefined })],
    ["a missing body field", "schema", () => forge(alice, valid({ body: { agreementId: "a1" } }))],
    ["a wrongly typed field", "schema", () => forge(alice, valid({ ts: String(T0) }))],
    [
      "a wrongly typed body field",
      "schema",
      () => forge(alice, valid({ body: { ...approved, approvedAt: "now" } })),
    ],
    [
      "an over-long field",
      "schema",
      () =>
        forge(
          alice,
          valid({ type: "AgreementRejected", body: { agreementId: "a1", reason: "x".repeat(2_000) } }),
        ),
    ],
    [
      "a 10 MiB string",
      "too_large",
      () =>
        forge(
          alice,
          valid({
            type: "AgreementRejected",
            body: { agreementId: "a1", reason: "x".repeat(10 * 1024 * 1024) },
          }),
        ),
    ],
    ["an unknown type", "unknown_type", () => forge(alice, valid({ type: "Teleport", body: {} }))],
    ["an unknown protocol version", "unknown_version", () => forge(alice, valid({ v: 2 }))],
    ["no version at all", "unknown_version", () => forge(alice, { ...valid(), v: undefined })],
    [
      "an attachment on a type without one",
      "schema",
      () => forge(alice, valid({ att: 3 }), new Uint8Array(3)),
    ],
    [
      "an attachment longer than declared",
      "schema",
      () =>
        forge(
          alice,
          valid({
            type: "StreamChunk",
            att: 2,
            body: { streamId: "s", seq: 0, offset: 0, size: 2, last: true },
          }),
          new Uint8Array(3),
        ),
    ],
    ["bytes that are not a frame", "malformed", () => new TextEncoder().encode('{"v":1}')],
    ["a frame whose JSON does not parse", "malformed", () => encodeFrame("{not json")],
    ["a frame whose JSON is not an object", "malformed", () => encodeFrame("[1,2]")],
  ];

  it.each(cases)("drops %s (%s), never calling a handler", async (_what, reason, make) => {
    await deliver(make());
    expect(got).toHaveLength(0);
    expect(bob.drops[reason]).toBe(1);
    expect(bob.dropped).toBe(1);
    const line = logs.find((l) => l.msg === "dropped message");
    expect(line?.reason).toBe(reason);
    expect(line?.detail).toMatch(new RegExp(`^${reason}: `));
  });

  it("drops a replayed id, even re-signed with new content, and keeps the first", async () => {
    const first = forge(alice, valid({ id: "same-id" }));
    await deliver(
      first,
      first,
      forge(alice, valid({ id: "same-id", body: { ...approved, agreementId: "a9" } })),
    );
    expect(got).toHaveLength(1);
    expect(got[0]!.envelope.body).toEqual(approved);
    expect(bob.drops.replay).toBe(2);
    expect(logs.filter((l) => l.reason === "replay")).toHaveLength(2);
  });

  it("accepts a broadcast of a broadcast type", async () => {
    const sender = new SignedNode({ bus, identity: alice, clock });
    sender.send(subject, BROADCAST, { type: "Demand", body: demand() });
    await deliver();
    expect(got.map((m) => m.envelope.type)).toEqual(["Demand"]);
  });

  describe("request/serve", () => {
    it("signs replies to the requester and rebuilds remote errors", async () => {
      const server = new SignedNode({ bus, identity: alice, clock });
      const svc = `agora.node.${alice.nodeId}.market`;
      server.serve(svc, (msg) => {
        if (msg.envelope.type !== "AgreementProposal") throw new MarketError("only agreement proposals here");
        return {
          type: "AgreementApproved",
          body: { agreementId: msg.envelope.body.agreementId, approvedAt: T0 },
        };
      });
      const proposal: MessageBody<"AgreementProposal"> = {
        agreementId: "ag-1",
        demandId: "d1",
        proposalId: "p1",
        requestorId: bob.nodeId,
        providerId: alice.nodeId,
        demand: demand().spec,
        offer: demand().spec,
        expiresAt: T0 + 1,
      };
      const reply = await bob.request(
        svc,
        alice.nodeId,
        { type: "AgreementProposal", body: proposal },
        {
          timeoutMs: 1_000,
          expect: "AgreementApproved",
        },
      );
      expect(reply.envelope.body).toEqual({ agreementId: "ag-1", approvedAt: T0 });
      expect(reply.envelope.from).toBe(alice.nodeId);
      expect(reply.envelope.to).toBe(bob.nodeId);

      const err = await bob
        .request(
          svc,
          alice.nodeId,
          { type: "AgreementApproved", body: approved },
          { timeoutMs: 1_000, expect: "Ack" },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MarketError);
      expect((err as Error).message).toBe(
        `${alice.nodeId.slice(0, 8)}… answered MARKET_ERROR: only agreement proposals here`,
      );

      const wrongType = await bob
        .request(
          svc,
          alice.nodeId,
          { type: "AgreementProposal", body: proposal },
          { timeoutMs: 1_000, expect: "Ack" },
        )
        .catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(ProtocolError);
      expect(bob.drops.unexpected_reply).toBe(1);
    });

    it("answers with the error when its reply cannot be sent", async () => {
      const small = new MemoryBus({ maxPayload: 4096 });
      const server = new SignedNode({ bus: small, identity: alice, clock });
      const client = new SignedNode({ bus: small, identity: NodeIdentity.generate(), clock });
      const svc = `agora.node.${alice.nodeId}.market`;
      server.serve(svc, () => ({
        type: "AgreementRejected",
        body: { agreementId: "a1", reason: "x".repeat(1000) },
      }));
      server.serve(`${svc}.big`, () => ({
        type: "BatchEvent",
        body: { activityId: "a", batchId: "b", index: 0, event: { kind: "stdout", data: "x".repeat(8000) } },
      }));
      const ok = await client.request(
        svc,
        alice.nodeId,
        { type: "Ack", body: {} },
        { timeoutMs: 1_000, expect: "AgreementRejected" },
      );
      expect(ok.envelope.body.reason).toHaveLength(1000);
      const err = await client
        .request(
          `${svc}.big`,
          alice.nodeId,
          { type: "Ack", body: {} },
          { timeoutMs: 1_000, expect: "BatchEvent" },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SizeLimitError);
      expect((err as Error).message).toMatch(
        /answered SIZE_LIMIT: payload of \d+ bytes exceeds the maximum of 4096$/,
      );
      await small.close();
    });

    it("refuses a reply signed by another node than the one asked", async () => {
      const impostor = new SignedNode({ bus, identity: NodeIdentity.generate(), clock });
      const svc = `agora.node.${alice.nodeId}.market`;
      // It sees the request on the wire and answers it, correctly signed, as itself.
      bus.subscribe(svc, (m) => {
        const { id } = JSON.parse(Buffer.from(m.data.subarray(5)).toString()) as { id: string };
        m.respond(impostor.seal(bob.nodeId, { type: "Ack", body: {} }, id).frame);
      });
      const err = await bob
        .request(
          svc,
          alice.nodeId,
          { type: "AgreementApproved", body: approved },
          { timeoutMs: 1_000, expect: "Ack" },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as Error).message).toMatch(/^unexpected_reply: reply from /);
      expect(bob.drops.unexpected_reply).toBe(1);
    });

    it("gathers proposals to a broadcast demand, dropping forged replies", async () => {
      const providers = [0, 1, 2].map(
        () => new SignedNode({ bus, identity: NodeIdentity.generate(), clock }),
      );
      for (const p of providers) {
        p.serve("agora.devnet.demand", (msg) =>
          msg.envelope.type === "Demand"
            ? {
                type: "Proposal",
                body: {
                  proposalId: `p-${p.nodeId.slice(0, 4)}`,
                  demandId: msg.envelope.body.demandId,
                  spec: msg.envelope.body.spec,
                  expiresAt: T0 + 1,
                },
              }
            : undefined,
        );
      }
      // A forger answers with a frame signed by someone else than its `from`.
      bus.subscribe("agora.devnet.demand", (m) =>
        m.respond(forge(NodeIdentity.generate(), valid({ to: bob.nodeId }))),
      );
      const replies: string[] = [];
      for await (const r of bob.requestMany(
        "agora.devnet.demand",
        BROADCAST,
        { type: "Demand", body: demand() },
        { maxWaitMs: 100 },
      )) {
        replies.push(r.envelope.from);
      }
      expect(replies.sort()).toEqual(providers.map((p) => p.nodeId).sort());
      expect(bob.drops.bad_signature).toBe(1);
    });

    it("times out a request whose replies are all dropped", async () => {
      const err = await bob
        .request(
          subject,
          alice.nodeId,
          { type: "AgreementApproved", body: approved },
          { timeoutMs: 50, expect: "Ack" },
        )
        .catch((e: unknown) => e);
      // bob's own subscription on `subject` receives it: addressed to alice, so dropped, never answered.
      expect(err).toBeInstanceOf(TimeoutError);
      expect(bob.drops.wrong_recipient).toBe(1);
      expect(got).toHaveLength(0);
    });
  });

  it("close() ends every subscription made through the node, and nothing else", async () => {
    const before = bus.subscriptionCount;
    const other = bus.subscribe("other", () => undefined);
    bob.serve("svc.x", () => undefined);
    expect(bus.subscriptionCount).toBe(before + 2);
    bob.close();
    bob.close();
    expect(bus.subscriptionCount).toBe(1);
    other.unsubscribe();
    const sender = new SignedNode({ bus, identity: alice, clock });
    sender.send(subject, bob.nodeId, { type: "AgreementApproved", body: approved });
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(0);
  });

  it("signs what it sends with a verifiable envelope", () => {
    const { envelope } = signEnvelope(alice, { type: "Ack", to: bob.nodeId, body: {} }, clock);
    expect(envelope.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });
});
