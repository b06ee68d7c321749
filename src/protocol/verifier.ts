/**
 * The receiving side of the protocol: turn a frame into a verified message or a refusal with a
 * reason. Checks, in order: size, frame, version, envelope schema, known type, attachment, `to`,
 * `ts` within the skew window, body schema, signature, replay.
 */
import { z } from "zod";
import { ProtocolError } from "../errors.js";
import type { Clock } from "./clock.js";
import type { AnyEnvelope, Envelope } from "./envelope.js";
import { BROADCAST, PROTOCOL_VERSION, decodeFrame, verifyEnvelope } from "./envelope.js";
import type { NodeId } from "./identity.js";
import { ATTACHMENT_TYPES } from "./messages-stream.js";
import { BROADCAST_TYPES, isMessageType, messageSchemas } from "./messages.js";
import { ReplayGuard } from "./replay-guard.js";
import { idSchema, nodeIdSchema } from "./schema-common.js";

export const dropReasons = [
  "too_large",
  "malformed",
  "unknown_version",
  "schema",
  "unknown_type",
  "wrong_recipient",
  "stale",
  "bad_signature",
  "replay",
  "unexpected_reply",
] as const;
/** Why an inbound message was dropped. */
export type DropReason = (typeof dropReasons)[number];

/** An inbound message was refused; it must not change any state. */
export class MessageRejectedError extends ProtocolError {
  readonly reason: DropReason;

  constructor(reason: DropReason, message: string, options: { cause?: unknown } = {}) {
    super(`${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** A message that passed every check. */
export interface VerifiedMessage<E extends Envelope = AnyEnvelope> {
  readonly envelope: E;
  /** Raw bytes sent with the envelope (stream chunks); empty otherwise. */
  readonly attachment: Uint8Array;
  /**
   * The envelope exactly as its sender signed it, unknown fields included: store this (not
   * `envelope`, whose body the schema may have normalised) to re-check it with `verifyEnvelope`.
   */
  readonly signed: Readonly<Record<string, unknown>>;
}

export interface VerifierOptions {
  /** The node receiving: `to` must name it (or be a broadcast of a broadcast type). */
  readonly self: NodeId;
  readonly clock: Clock;
  /** Accepted distance between a message's `ts` and our clock. @default 60_000 */
  readonly skewMs?: number;
  /** Largest frame accepted. @default 1_048_576 + 65_536 */
  readonly maxMessageBytes?: number;
  /** Most message ids remembered by the replay guard. @default 100_000 */
  readonly replayCapacity?: number;
}

export const DEFAULT_SKEW_MS = 60_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 64 * 1024;

const headerSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  type: z.string().max(64),
  id: idSchema,
  from: nodeIdSchema,
  to: z.union([nodeIdSchema, z.literal(BROADCAST)]),
  ts: z.number().int().nonnegative(),
  re: idSchema.optional(),
  att: z.number().int().positive().optional(),
  body: z.unknown(),
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, "not a base64url Ed25519 signature"),
});

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "schema violation";
  return `${issue.path.join(".") || "(root)"}: ${issue.message}`;
}

export class MessageVerifier {
  readonly self: NodeId;
  readonly #clock: Clock;
  readonly #skewMs: number;
  readonly #maxBytes: number;
  readonly #guard: ReplayGuard;

  constructor(opts: VerifierOptions) {
    this.self = opts.self;
    this.#clock = opts.clock;
    this.#skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
    this.#maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#guard = new ReplayGuard({
      windowMs: this.#skewMs,
      ...(opts.replayCapacity === undefined ? {} : { capacity: opts.replayCapacity }),
    });
  }

  /** Ids the replay guard currently remembers. */
  get rememberedIds(): number {
    return this.#guard.size;
  }

  /** Verify a frame; throws `MessageRejectedError` with the reason when it must be dropped. */
  open(frame: Uint8Array): VerifiedMessage {
    if (frame.byteLength > this.#maxBytes) {
      throw new MessageRejectedError("too_large", `${frame.byteLength} bytes > ${this.#maxBytes}`);
    }
    let json: unknown;
    let attachment: Uint8Array;
    try {
      ({ json, attachment } = decodeFrame(frame));
    } catch (err) {
      throw new MessageRejectedError("malformed", err instanceof Error ? err.message : "bad frame", {
        cause: err,
      });
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new MessageRejectedError("malformed", "envelope is not a JSON object");
    }
    const version = (json as { v?: unknown }).v;
    if (version !== PROTOCOL_VERSION) {
      throw new MessageRejectedError("unknown_version", `protocol version ${JSON.stringify(version)}`);
    }
    const header = headerSchema.safeParse(json);
    if (!header.success) throw new MessageRejectedError("schema", describe(header.error));
    const { type, to, ts, att } = header.data;
    if (!isMessageType(type)) throw new MessageRejectedError("unknown_type", JSON.stringify(type));
    if ((att ?? 0) !== attachment.byteLength || (att !== undefined && !ATTACHMENT_TYPES.has(type))) {
      throw new MessageRejectedError("schema", `attachment of ${attachment.byteLength} bytes, att=${att}`);
    }
    if (to !== this.self && !(to === BROADCAST && BROADCAST_TYPES.has(type))) {
      throw new MessageRejectedError("wrong_recipient", `addressed to ${to}`);
    }
    const now = this.#clock.now();
    if (Math.abs(now - ts) > this.#skewMs) {
      throw new MessageRejectedError("stale", `ts ${ts} is ${now - ts} ms from now (window ${this.#skewMs})`);
    }
    const body = messageSchemas[type].safeParse(header.data.body);
    if (!body.success) throw new MessageRejectedError("schema", `${type}.body.${describe(body.error)}`);
    if (!verifyEnvelope(json as Record<string, unknown>)) {
      throw new MessageRejectedError("bad_signature", `${type} ${header.data.id} from ${header.data.from}`);
    }
    const seen = this.#guard.check(header.data.id, ts);
    if (seen !== "ok") {
      throw new MessageRejectedError(
        seen === "replay" ? "replay" : "stale",
        seen === "replay" ? `id ${header.data.id} seen before` : `ts ${ts} below the replay floor`,
      );
    }
    this.#guard.remember(header.data.id, ts, now);
    const envelope = { ...header.data, type, body: body.data } as AnyEnvelope;
    return { envelope, attachment, signed: json as Record<string, unknown> };
  }
}
