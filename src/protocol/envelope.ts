/**
 * Signed envelopes `{ v, type, id, from, to, ts, re?, att?, body, sig }` (DESIGN §4) and their
 * wire frame.
 *
 * - `sig` is `from`'s Ed25519 signature (base64url) over the canonical JSON of every other field.
 * - `re` names the request a reply answers; `att` is the byte length of a binary attachment.
 * - Frame: `0xA7 | u32be jsonLength | envelope JSON | attachment bytes`. Attachments (stream
 *   chunks) travel raw, not base64 in JSON; their length is signed through `att`, their content
 *   is covered by the stream's sha256, which the signed last chunk carries.
 */
import { randomUUID } from "node:crypto";
import { ProtocolError } from "../errors.js";
import { canonicalJson } from "./canonical.js";
import type { Clock } from "./clock.js";
import type { NodeId, NodeIdentity } from "./identity.js";
import { verifySignature } from "./identity.js";
import type { MessageBody, MessageType } from "./messages.js";

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;
/** Recipient of a broadcast. */
export const BROADCAST = "*";
/** First byte of every frame. */
export const FRAME_MAGIC = 0xa7;
const FRAME_HEADER_BYTES = 5;

export interface Envelope<T extends MessageType = MessageType> {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: T;
  readonly id: string;
  readonly from: NodeId;
  readonly to: NodeId; // or BROADCAST
  readonly ts: number;
  readonly re?: string;
  readonly att?: number;
  readonly body: MessageBody<T>;
  readonly sig: string;
}

/** An envelope of any type, discriminated by `type` (narrow with `switch (env.type)`). */
export type AnyEnvelope = { [K in MessageType]: Envelope<K> }[MessageType];

export interface EnvelopeDraft<T extends MessageType> {
  readonly type: T;
  readonly to: NodeId; // or BROADCAST
  readonly body: MessageBody<T>;
  /** The id of the request this message answers. */
  readonly re?: string;
  /** Byte length of the binary attachment sent with the envelope. */
  readonly att?: number;
  /** Override the random id (tests). */
  readonly id?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Fill in `v`, `id`, `from`, `ts` and sign. Returns the envelope and its wire JSON. */
export function signEnvelope<T extends MessageType>(
  identity: NodeIdentity,
  draft: EnvelopeDraft<T>,
  clock: Clock,
): { envelope: Envelope<T>; json: string } {
  const unsigned: Omit<Envelope<T>, "sig"> = {
    v: PROTOCOL_VERSION,
    type: draft.type,
    id: draft.id ?? randomUUID(),
    from: identity.nodeId,
    to: draft.to,
    ts: clock.now(),
    ...(draft.re === undefined ? {} : { re: draft.re }),
    ...(draft.att === undefined ? {} : { att: draft.att }),
    body: draft.body,
  };
  const canonical = canonicalJson(unsigned);
  const sig = Buffer.from(identity.sign(encoder.encode(canonical))).toString("base64url");
  // The canonical text plus the signature as its last member is valid wire JSON: no second encode.
  const json = `${canonical.slice(0, -1)},"sig":${JSON.stringify(sig)}}`;
  return { envelope: { ...unsigned, sig }, json };
}

/** True when `envelope.sig` is `envelope.from`'s signature over the rest (stored envelopes). */
export function verifyEnvelope(
  envelope: Envelope | { readonly from?: unknown; readonly sig?: unknown; readonly [field: string]: unknown },
): boolean {
  const { sig, ...unsigned } = envelope;
  if (typeof sig !== "string" || typeof envelope.from !== "string") return false;
  let data: Uint8Array;
  try {
    data = encoder.encode(canonicalJson(unsigned));
  } catch {
    return false; // a value JSON cannot carry was never signed
  }
  return verifySignature(envelope.from, data, Buffer.from(sig, "base64url"));
}

/**
 * Build a frame from an envelope's wire JSON and an optional attachment, given whole or in parts
 * (a stream chunk read as several pieces is copied once, straight into the frame).
 */
export function encodeFrame(json: string, attachment?: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const parts = attachment === undefined ? [] : attachment instanceof Uint8Array ? [attachment] : attachment;
  let attLength = 0;
  for (const part of parts) attLength += part.byteLength;
  const jsonLength = Buffer.byteLength(json, "utf8");
  // Not zero-filled (every byte is written below) and not from the shared pool (a frame owns its
  // ArrayBuffer, so no one reading `frame.buffer` sees another message's bytes).
  const frame = Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + jsonLength + attLength);
  frame[0] = FRAME_MAGIC;
  frame.writeUInt32BE(jsonLength, 1);
  frame.write(json, FRAME_HEADER_BYTES, jsonLength, "utf8");
  let offset = FRAME_HEADER_BYTES + jsonLength;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.byteLength;
  }
  return frame;
}

/** Split a frame into its parsed JSON value and attachment; throws `ProtocolError` when malformed. */
export function decodeFrame(frame: Uint8Array): { json: unknown; attachment: Uint8Array } {
  if (frame.byteLength < FRAME_HEADER_BYTES || frame[0] !== FRAME_MAGIC) {
    throw new ProtocolError("not an Agora frame");
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const jsonLength = view.getUint32(1);
  if (jsonLength > frame.byteLength - FRAME_HEADER_BYTES) {
    throw new ProtocolError(`frame declares ${jsonLength} bytes of JSON but holds fewer`);
  }
  let json: unknown;
  try {
    json = JSON.parse(
      decoder.decode(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + jsonLength)),
    ) as unknown;
  } catch (err) {
    throw new ProtocolError("frame JSON does not parse", { cause: err });
  }
  return { json, attachment: frame.subarray(FRAME_HEADER_BYTES + jsonLength) };
}
