import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../../src/errors.js";
import {
  FRAME_MAGIC,
  ManualClock,
  NodeIdentity,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  signEnvelope,
  verifyEnvelope,
} from "../../../src/protocol/index.js";

describe("envelopes", () => {
  const alice = NodeIdentity.generate();
  const bob = NodeIdentity.generate();
  const clock = new ManualClock(1_700_000_000_000);

  it("fills v, id, from, ts and signs the canonical form", () => {
    const { envelope, json } = signEnvelope(
      alice,
      { type: "AgreementRejected", to: bob.nodeId, body: { agreementId: "a", reason: "no" } },
      clock,
    );
    expect(envelope).toMatchObject({
      v: PROTOCOL_VERSION,
      type: "AgreementRejected",
      from: alice.nodeId,
      to: bob.nodeId,
      ts: 1_700_000_000_000,
    });
    expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(json)).toEqual(envelope);
    expect(verifyEnvelope(envelope)).toBe(true);
    // Key order on the wire does not matter: the signature is over the canonical form.
    const reordered = Object.fromEntries(Object.entries(envelope).reverse()) as typeof envelope;
    expect(Object.keys(reordered)[0]).toBe("sig");
    expect(verifyEnvelope(reordered)).toBe(true);
    expect(verifyEnvelope({ ...envelope, ts: envelope.ts + 1 })).toBe(false);
    expect(verifyEnvelope({ ...envelope, from: bob.nodeId })).toBe(false);
    expect(verifyEnvelope({ ...envelope, body: { agreementId: "a", reason: "yes" } })).toBe(false);
  });

  it("carries re and att inside the signature", () => {
    const { envelope } = signEnvelope(
      alice,
      {
        type: "StreamChunk",
        to: bob.nodeId,
        re: "req-1",
        att: 3,
        body: { streamId: "s", seq: 0, offset: 0, size: 3, last: true },
      },
      clock,
    );
    expect(envelope.re).toBe("req-1");
    expect(envelope.att).toBe(3);
    expect(verifyEnvelope({ ...envelope, re: "req-2" })).toBe(false);
    expect(verifyEnvelope({ ...envelope, att: 4 })).toBe(false);
  });

  it("frames JSON and a raw attachment, and decodes them back", () => {
    const frame = encodeFrame('{"a":1}', new Uint8Array([9, 8, 7]));
    expect(frame[0]).toBe(FRAME_MAGIC);
    expect(frame.byteLength).toBe(5 + 7 + 3);
    const { json, attachment } = decodeFrame(frame);
    expect(json).toEqual({ a: 1 });
    expect([...attachment]).toEqual([9, 8, 7]);
    expect(decodeFrame(encodeFrame("{}")).attachment.byteLength).toBe(0);
  });

  it("frames an attachment given in pieces as their concatenation, in a buffer of its own", () => {
    const frame = encodeFrame('{"a":1}', [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
    expect([...frame]).toEqual([FRAME_MAGIC, 0, 0, 0, 7, ...Buffer.from('{"a":1}'), 1, 2, 3]);
    expect(frame.byteOffset).toBe(0);
    expect(frame.buffer.byteLength).toBe(frame.byteLength);
    const multiByte = encodeFrame('{"é":"€"}');
    expect(decodeFrame(multiByte).json).toEqual({ é: "€" });
    expect(multiByte.byteLength).toBe(5 + Buffer.byteLength('{"é":"€"}'));
  });

  it("refuses frames that are not frames", () => {
    expect(() => decodeFrame(new Uint8Array([1, 2]))).toThrow("not an Agora frame");
    const short = encodeFrame('{"a":1}').subarray(0, 8);
    expect(() => decodeFrame(short)).toThrow("frame declares 7 bytes of JSON but holds fewer");
    expect(() => decodeFrame(encodeFrame("{"))).toThrow(ProtocolError);
    const badUtf8 = encodeFrame("xx");
    badUtf8.set([0xff, 0xfe], 5);
    expect(() => decodeFrame(badUtf8)).toThrow("frame JSON does not parse");
  });
});
