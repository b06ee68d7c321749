/**
 * SignedNode: a node's view of any Bus. Everything it sends is a signed envelope; everything it
 * receives is verified (protocol/verifier) before a handler sees it. A message that fails a check
 * is dropped, logged with its reason and counted in `drops` — it never reaches a handler.
 */
import type { Logger } from "pino";
import { pino } from "pino";
import { ProtocolError } from "../errors.js";
import {
  BROADCAST,
  MessageRejectedError,
  MessageVerifier,
  dropReasons,
  encodeFrame,
  fromWireError,
  signEnvelope,
  systemClock,
  toWireError,
} from "../protocol/index.js";
import type {
  AnyEnvelope,
  Clock,
  DropReason,
  Envelope,
  MessageBody,
  MessageType,
  NodeId,
  NodeIdentity,
  VerifiedMessage,
} from "../protocol/index.js";
import type { Bus, BusMessage, RequestManyOptions, RequestOptions, Subscription } from "./types.js";

/** A message to send: its type, body and (stream chunks only) binary attachment. */
export type Outgoing<T extends MessageType = MessageType> = {
  readonly type: T;
  readonly body: MessageBody<T>;
  /** Raw bytes sent after the envelope, whole or in pieces (concatenated once, into the frame). */
  readonly attachment?: Uint8Array | readonly Uint8Array[];
};
/** An outgoing message of any type, discriminated by `type`. */
export type AnyOutgoing = { [K in MessageType]: Outgoing<K> }[MessageType];

function attachmentLength(attachment: Outgoing["attachment"]): number {
  if (attachment === undefined) return 0;
  if (attachment instanceof Uint8Array) return attachment.byteLength;
  let n = 0;
  for (const part of attachment) n += part.byteLength;
  return n;
}

/** A verified inbound message and the subject it arrived on. */
export type Inbound<E extends Envelope = AnyEnvelope> = VerifiedMessage<E> & {
  readonly subject: string;
};
/** An inbound message of any type: `switch (msg.envelope.type)` narrows the body. */
export type AnyInbound = Inbound;

/** Handler for requests: return the reply, `undefined` for none; a throw answers with `Error`. */
export type RequestHandler = (msg: AnyInbound) => AnyOutgoing | undefined | Promise<AnyOutgoing | undefined>;

export interface SignedNodeOptions {
  readonly bus: Bus;
  readonly identity: NodeIdentity;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Drops and handler errors are logged here. @default silent */
  readonly logger?: Logger;
  /** Accepted clock skew, also the replay window. @default 60_000 */
  readonly skewMs?: number;
  /** Largest inbound frame. @default 1 MiB + 64 KiB */
  readonly maxMessageBytes?: number;
  /** Most ids the replay guard remembers. @default 100_000 */
  readonly replayCapacity?: number;
}

export class SignedNode {
  readonly bus: Bus;
  readonly identity: NodeIdentity;
  readonly nodeId: NodeId;
  readonly clock: Clock;
  readonly #logger: Logger;
  readonly #verifier: MessageVerifier;
  readonly #drops: Record<DropReason, number>;
  readonly #subs = new Set<Subscription>();

  constructor(opts: SignedNodeOptions) {
    this.bus = opts.bus;
    this.identity = opts.identity;
    this.nodeId = opts.identity.nodeId;
    this.clock = opts.clock ?? systemClock;
    this.#logger = (opts.logger ?? pino({ level: "silent" })).child({ nodeId: this.nodeId.slice(0, 8) });
    this.#verifier = new MessageVerifier({
      self: this.nodeId,
      clock: this.clock,
      ...(opts.skewMs === undefined ? {} : { skewMs: opts.skewMs }),
      ...(opts.maxMessageBytes === undefined ? {} : { maxMessageBytes: opts.maxMessageBytes }),
      ...(opts.replayCapacity === undefined ? {} : { replayCapacity: opts.replayCapacity }),
    });
    this.#drops = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>;
  }

  /** How many inbound messages were dropped, per reason (a snapshot). */
  get drops(): Readonly<Record<DropReason, number>> {
    return { ...this.#drops };
  }

  /** Total of `drops`. */
  get dropped(): number {
    return Object.values(this.#drops).reduce((a, b) => a + b, 0);
  }

  /** Sign `msg` for `to` (a node id or `BROADCAST`) and encode it as a frame. */
  seal(to: NodeId, msg: AnyOutgoing, re?: string): { frame: Uint8Array; id: string } {
    const att = attachmentLength(msg.attachment);
    const { envelope, json } = signEnvelope(
      this.identity,
      {
        type: msg.type,
        to,
        body: msg.body,
        ...(re === undefined ? {} : { re }),
        ...(att ? { att } : {}),
      },
      this.clock,
    );
    return { frame: encodeFrame(json, att ? msg.attachment : undefined), id: envelope.id };
  }

  /** Verify a frame, or count, log and rethrow the refusal. */
  open(data: Uint8Array, subject: string): AnyInbound {
    try {
      return { ...this.#verifier.open(data), subject };
    } catch (err) {
      if (err instanceof MessageRejectedError) this.#drop(err, subject);
      throw err;
    }
  }

  /** Fire and forget a signed message. */
  send(subject: string, to: NodeId, msg: AnyOutgoing): void {
    this.bus.publish(subject, this.seal(to, msg).frame);
  }

  /** Receive verified messages on `subject` (wildcards allowed); bad ones are dropped first. */
  subscribe(subject: string, handler: (msg: AnyInbound) => void | Promise<void>): Subscription {
    return this.#track(
      this.bus.subscribe(subject, (raw) => {
        const msg = this.#tryOpen(raw);
        if (!msg) return;
        this.#guard(subject, () => handler(msg));
      }),
    );
  }

  /** Answer requests on `subject`: the reply is signed to the requester and names its id in `re`. */
  serve(subject: string, handler: RequestHandler): Subscription {
    return this.#track(
      this.bus.subscribe(subject, (raw) => {
        const msg = this.#tryOpen(raw);
        if (!msg) return;
        const reply = (out: AnyOutgoing): void => {
          if (raw.reply === undefined) return;
          raw.respond(this.seal(msg.envelope.from, out, msg.envelope.id).frame);
        };
        this.#guard(subject, async () => {
          let out: AnyOutgoing | undefined;
          try {
            out = await handler(msg);
          } catch (err) {
            this.#logger.debug({ err, subject, type: msg.envelope.type }, "request handler failed");
            out = { type: "Error", body: toWireError(err) };
          }
          if (!out) return;
          try {
            reply(out);
          } catch (err) {
            // E.g. a reply above the bus's max payload: answer with the error instead of silence.
            this.#logger.warn({ err, subject, type: out.type }, "sending a reply failed");
            reply({ type: "Error", body: toWireError(err) });
          }
        });
      }),
    );
  }

  /** Stop every subscription made through this node (the bus stays open: it is the caller's). */
  close(): void {
    for (const sub of [...this.#subs]) sub.unsubscribe();
  }

  #track(sub: Subscription): Subscription {
    const tracked: Subscription = {
      subject: sub.subject,
      unsubscribe: () => {
        this.#subs.delete(tracked);
        sub.unsubscribe();
      },
    };
    this.#subs.add(tracked);
    return tracked;
  }

  /**
   * Send a signed request to node `to` and await its verified reply of type `expect`. A reply
   * that fails verification, comes from another node, answers another request or has another
   * type rejects with `MessageRejectedError`; an `Error` reply rejects with the remote error.
   */
  async request<R extends MessageType>(
    subject: string,
    to: NodeId,
    msg: AnyOutgoing,
    opts: RequestOptions & { readonly expect: R },
  ): Promise<Inbound<Envelope<R>>> {
    const reply = await this.requestAny(subject, to, msg, opts);
    if (reply.envelope.type === "Error") throw fromWireError(reply.envelope.body, reply.envelope.from);
    if (reply.envelope.type !== opts.expect) {
      const err = new MessageRejectedError(
        "unexpected_reply",
        `expected ${opts.expect}, got ${reply.envelope.type}`,
      );
      this.#drop(err, subject);
      throw err;
    }
    return reply as unknown as Inbound<Envelope<R>>;
  }

  /**
   * Send a signed request to node `to` and await its verified reply, whatever its type (for
   * requests answered in several ways, e.g. approved or rejected). A reply that fails
   * verification, comes from another node or answers another request rejects with
   * `MessageRejectedError`.
   */
  async requestAny(subject: string, to: NodeId, msg: AnyOutgoing, opts: RequestOptions): Promise<AnyInbound> {
    const { frame, id } = this.seal(to, msg);
    const reply = this.open(await this.bus.request(subject, frame, opts), subject);
    this.#checkReply(reply, id, to, subject);
    return reply;
  }

  /** Scatter/gather (e.g. a Demand to `BROADCAST`): yield every verified reply within `maxWaitMs`. */
  async *requestMany(
    subject: string,
    to: NodeId,
    msg: AnyOutgoing,
    opts: RequestManyOptions,
  ): AsyncGenerator<AnyInbound, void, undefined> {
    const { frame, id } = this.seal(to, msg);
    for await (const data of this.bus.requestMany(subject, frame, opts)) {
      let reply: AnyInbound;
      try {
        reply = this.open(data, subject);
        this.#checkReply(reply, id, to, subject);
      } catch (err) {
        if (err instanceof ProtocolError) continue; // counted and logged; wait for the others
        throw err;
      }
      yield reply;
    }
  }

  #checkReply(reply: AnyInbound, requestId: string, to: NodeId, subject: string): void {
    const { re, from } = reply.envelope;
    if (re === requestId && (to === BROADCAST || from === to)) return;
    const err = new MessageRejectedError(
      "unexpected_reply",
      re === requestId ? `reply from ${from}, asked ${to}` : `reply to ${String(re)}, asked ${requestId}`,
    );
    this.#drop(err, subject);
    throw err;
  }

  #tryOpen(raw: BusMessage): AnyInbound | undefined {
    try {
      return this.open(raw.data, raw.subject);
    } catch (err) {
      if (!(err instanceof MessageRejectedError)) {
        this.#logger.error({ err, subject: raw.subject }, "verifying a message failed");
      }
      return undefined;
    }
  }

  #guard(subject: string, fn: () => void | Promise<void>): void {
    try {
      const result = fn();
      if (result) result.catch((err: unknown) => this.#logger.error({ err, subject }, "handler failed"));
    } catch (err) {
      this.#logger.error({ err, subject }, "handler threw");
    }
  }

  #drop(err: MessageRejectedError, subject: string): void {
    this.#drops[err.reason]++;
    this.#logger.warn({ reason: err.reason, subject, detail: err.message }, "dropped message");
  }
}
