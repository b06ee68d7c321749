import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../../src/errors.js";
import {
  ManualClock,
  MessageRejectedError,
  MessageVerifier,
  NodeIdentity,
  canonicalJson,
  encodeFrame,
  signEnvelope,
  verifyEnvelope,
} from "../../../src/protocol/index.js";
import type { DropReason } from "../../../src/protocol/index.js";

const alice = NodeIdentity.generate();
const bob = NodeIdentity.generate();

function rejection(fn: () => unknown): MessageRejectedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MessageRejectedError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("MessageVerifier", () => {
  const clock = new ManualClock(1_700_000_000_000);
  const frameOf = (
    over: Partial<Parameters<typeof signEnvelope>[1]> = {},
    attachment?: Uint8Array,
  ): Uint8Array => {
    const { json } = signEnvelope(alice, { type: "Ack", to: bob.nodeId, body: {}, ...over }, clock);
    return encodeFrame(json, attachment);
  };

  it("opens a good frame, with its parsed body and attachment", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock });
    const body = { streamId: "s1", seq: 0, offset: 0, size: 3, last: true };
    const msg = verifier.open(frameOf({ type: "StreamChunk", att: 3, body }, new Uint8Array([1, 2, 3])));
    expect(msg.envelope.type).toBe("StreamChunk");
    expect(msg.envelope.body).toEqual(body);
    expect([...msg.attachment]).toEqual([1, 2, 3]);
    expect(verifier.rememberedIds).toBe(1);
  });

  it("keeps the envelope as signed, extra fields included, so it can be stored and re-verified", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock });
    const fields = {
      v: 1,
      type: "AgreementApproved",
      id: "x1",
      from: alice.nodeId,
      to: bob.nodeId,
      ts: clock.now(),
      future: "field",
      body: { agreementId: "a1", approvedAt: 5, addedLater: [1] },
    };
    const sig = Buffer.from(alice.sign(new TextEncoder().encode(canonicalJson(fields)))).toString(
      "base64url",
    );
    const msg = verifier.open(encodeFrame(JSON.stringify({ ...fields, sig })));
    expect(msg.envelope.body).toEqual({ agreementId: "a1", approvedAt: 5 });
    expect(verifyEnvelope(msg.envelope)).toBe(false); // normalised by the schema
    const stored = JSON.parse(JSON.stringify(msg.signed)) as Record<string, unknown>;
    expect(verifyEnvelope(stored)).toBe(true);
    expect(verifyEnvelope({ ...stored, future: "changed" })).toBe(false);
    expect(verifyEnvelope({ ...stored, sig: 5 })).toBe(false);
  });

  it("refuses an unknown protocol version with a ProtocolError naming it", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock });
    const err = rejection(() => verifier.open(encodeFrame(JSON.stringify({ v: 7, type: "Ack" }))));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.reason).toBe<DropReason>("unknown_version");
    expect(err.message).toBe("unknown_version: protocol version 7");
    expect(err.code).toBe("PROTOCOL_ERROR");
  });

  it("applies the skew window both ways, at its configured width", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock, skewMs: 5_000 });
    const early = frameOf();
    clock.advance(5_001);
    expect(rejection(() => verifier.open(early)).reason).toBe("stale");
    clock.advance(-10_002);
    expect(rejection(() => verifier.open(early)).message).toMatch(
      /^stale: ts \d+ is -5001 ms from now \(window 5000\)$/,
    );
    clock.advance(5_001);
    expect(verifier.open(early).envelope.type).toBe("Ack");
    expect(verifier.rememberedIds).toBe(1);
  });

  it("caps the frame size before parsing anything", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock, maxMessageBytes: 100 });
    expect(rejection(() => verifier.open(new Uint8Array(101))).message).toBe("too_large: 101 bytes > 100");
  });

  it("remembers ids only of messages that verified", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock });
    const good = frameOf({ id: "m1" });
    const forgedJson = JSON.parse(Buffer.from(good.subarray(5)).toString()) as Record<string, unknown>;
    const forged = encodeFrame(JSON.stringify({ ...forgedJson, ts: clock.now() + 1 }));
    expect(rejection(() => verifier.open(forged)).reason).toBe("bad_signature");
    expect(verifier.rememberedIds).toBe(0);
    expect(verifier.open(good).envelope.id).toBe("m1");
    expect(rejection(() => verifier.open(good)).reason).toBe("replay");
  });

  it("under a flood beyond its capacity refuses old ids rather than forgetting them", () => {
    const verifier = new MessageVerifier({ self: bob.nodeId, clock, replayCapacity: 2 });
    const first = frameOf({ id: "f1" });
    verifier.open(first);
    clock.advance(1);
    verifier.open(frameOf({ id: "f2" }));
    clock.advance(1);
    verifier.open(frameOf({ id: "f3" })); // evicts f1, floor = its ts
    expect(verifier.rememberedIds).toBe(2);
    expect(rejection(() => verifier.open(first)).message).toMatch(/^stale: ts \d+ below the replay floor$/);
  });
});
