/**
 * The sending side of pull-based byte streams. `offer()` registers a source and returns the
 * StreamOffer to hand to the receiver (inside any other message); the source is read lazily, one
 * chunk per StreamPull. Pulls come only from the node the stream was offered to. A stream ends
 * when its last chunk is served, when either side aborts, or after `idleTimeoutMs` without a pull;
 * every end releases the source.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Hash } from "node:crypto";
import type { Logger } from "pino";
import { pino } from "pino";
import { ProtocolError, UserError } from "../errors.js";
import { MAX_CHUNK_BYTES } from "../protocol/index.js";
import type { MessageBody, NodeId } from "../protocol/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode } from "./signed-node.js";
import type { Subscription } from "./types.js";

/** The subject a node serves its streams on. */
export function streamSubject(nodeId: NodeId): string {
  return `agora.node.${nodeId}.stream`;
}

export type StreamOffer = MessageBody<"StreamOffer">;

export interface StreamSenderOptions {
  readonly node: SignedNode;
  /** Free a stream nobody pulled for this long. @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** Bytes per chunk, at most 512 KiB. @default 524_288 */
  readonly chunkSize?: number;
  /** @default silent */
  readonly logger?: Logger;
}

export interface OfferOptions {
  /** The only node allowed to pull. */
  readonly to: NodeId;
  /** Exact byte count of the source; a source that yields more or less aborts the stream. */
  readonly size: number;
  /** Known sha256 (hex) of the content; when given the sender does not hash, the receiver checks. */
  readonly sha256?: string;
  /** Abort the stream from this side. */
  readonly signal?: AbortSignal;
}

type Source = AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void };

/** The source broke its declared size; its message is safe to tell the receiver. */
class DeclaredSizeError extends Error {}

class OutboundStream {
  state: "open" | "aborted" | "done" = "open";
  abortReason = "";
  offset = 0;
  nextSeq = 0;
  chain: Promise<unknown> = Promise.resolve();
  idleTimer: NodeJS.Timeout | undefined;
  readonly #iterator: AsyncIterator<Uint8Array>;
  readonly #hash: Hash | undefined;
  #carry: Uint8Array | undefined;

  constructor(
    readonly offer: StreamOffer,
    readonly to: NodeId,
    readonly source: Source,
    readonly release: () => void,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#hash = offer.sha256 === undefined ? createHash("sha256") : undefined;
  }

  /**
   * Read exactly `want` bytes (fewer only when the source ends), as the source's own pieces: no
   * copy here, the frame encoder copies each piece once.
   */
  async read(want: number): Promise<{ parts: Uint8Array[]; bytes: number }> {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    while (bytes < want) {
      let piece = this.#carry;
      this.#carry = undefined;
      if (!piece) {
        const next = await this.#iterator.next();
        if (next.done) break;
        piece = next.value;
        if (typeof piece === "string") piece = Buffer.from(piece);
      }
      if (piece.byteLength > want - bytes) {
        this.#carry = piece.subarray(want - bytes);
        piece = piece.subarray(0, want - bytes);
      }
      if (piece.byteLength === 0) continue;
      this.#hash?.update(piece);
      parts.push(piece);
      bytes += piece.byteLength;
    }
    return { parts, bytes };
  }

  /** True when the source still holds bytes (it is larger than declared). */
  async hasMore(): Promise<boolean> {
    return (await this.read(1)).bytes > 0;
  }

  digest(): string {
    return this.#hash ? this.#hash.digest("hex") : this.offer.sha256!;
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.source.destroy?.();
    this.#iterator.return?.().catch(() => undefined);
    this.release();
  }
}

export class StreamSender {
  readonly subject: string;
  readonly #node: SignedNode;
  readonly #idleTimeoutMs: number;
  readonly #chunkSize: number;
  readonly #logger: Logger;
  readonly #streams = new Map<string, OutboundStream>();
  readonly #sub: Subscription;

  constructor(opts: StreamSenderOptions) {
    this.#node = opts.node;
    this.#idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    this.#chunkSize = opts.chunkSize ?? MAX_CHUNK_BYTES;
    if (!Number.isInteger(this.#chunkSize) || this.#chunkSize < 1 || this.#chunkSize > MAX_CHUNK_BYTES) {
      throw new UserError(`chunkSize must be an integer in 1..${MAX_CHUNK_BYTES}, got ${this.#chunkSize}`);
    }
    this.#logger = opts.logger ?? pino({ level: "silent" });
    this.subject = streamSubject(this.#node.nodeId);
    this.#sub = this.#node.serve(this.subject, (msg) => this.#onMessage(msg));
  }

  /** Streams still open (not finished, aborted or timed out). */
  get active(): number {
    let n = 0;
    for (const s of this.#streams.values()) if (s.state === "open") n++;
    return n;
  }

  /** Register `source` for node `opts.to` to pull; nothing is read until the first pull. */
  offer(source: AsyncIterable<Uint8Array>, opts: OfferOptions): StreamOffer {
    if (!Number.isSafeInteger(opts.size) || opts.size < 0) {
      throw new UserError(`stream size must be a non-negative integer, got ${opts.size}`);
    }
    opts.signal?.throwIfAborted();
    const streamId = randomUUID();
    const offer: StreamOffer = {
      streamId,
      size: opts.size,
      chunkSize: this.#chunkSize,
      ...(opts.sha256 === undefined ? {} : { sha256: opts.sha256 }),
    };
    const onAbort = (): void => this.#abort(streamId, "aborted by the sender");
    const stream = new OutboundStream(offer, opts.to, source as Source, () =>
      opts.signal?.removeEventListener("abort", onAbort),
    );
    this.#streams.set(streamId, stream);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    this.#touch(stream);
    return offer;
  }

  /** Abort every stream and stop serving; safe to call twice. */
  close(): void {
    for (const [id, stream] of this.#streams) {
      this.#abort(id, "sender closed");
      clearTimeout(stream.idleTimer);
    }
    this.#streams.clear();
    this.#sub.unsubscribe();
  }

  #onMessage(msg: AnyInbound): AnyOutgoing | Promise<AnyOutgoing> | undefined {
    if (msg.envelope.type !== "StreamPull") throw new ProtocolError(`unexpected ${msg.envelope.type}`);
    const { streamId, seq, abort } = msg.envelope.body;
    const stream = this.#streams.get(streamId);
    if (!stream) {
      if (abort !== undefined) return undefined;
      throw new ProtocolError(`unknown stream ${streamId}`);
    }
    if (msg.envelope.from !== stream.to) throw new ProtocolError(`stream ${streamId} is not offered to you`);
    if (abort !== undefined) {
      this.#abort(streamId, `receiver: ${abort}`);
      this.#streams.delete(streamId);
      return { type: "Ack", body: {} };
    }
    this.#touch(stream);
    const next = stream.chain.then(() => this.#serve(stream, seq));
    stream.chain = next.catch(() => undefined);
    return next;
  }

  async #serve(stream: OutboundStream, seq: number): Promise<AnyOutgoing> {
    const { streamId, size } = stream.offer;
    if (stream.state === "open" && seq !== stream.nextSeq) {
      this.#abort(streamId, `pull of chunk ${seq}, expected ${stream.nextSeq}`);
    }
    if (stream.state !== "open") {
      this.#streams.delete(streamId);
      const body = { streamId, seq, offset: stream.offset, size: 0, last: true, abort: stream.abortReason };
      return { type: "StreamChunk", body };
    }
    const offset = stream.offset;
    const want = Math.min(this.#chunkSize, size - offset);
    try {
      const data = await stream.read(want);
      if (data.bytes < want)
        throw new DeclaredSizeError(`source ended after ${offset + data.bytes} of ${size} bytes`);
      const last = offset + want === size;
      if (last && (await stream.hasMore()))
        throw new DeclaredSizeError(`source is larger than the declared ${size} bytes`);
      if ((stream.state as OutboundStream["state"]) !== "open") return await this.#serve(stream, seq);
      stream.offset += want;
      stream.nextSeq++;
      const body = { streamId, seq, offset, size: want, last, ...(last ? { sha256: stream.digest() } : {}) };
      if (last) this.#finish(stream);
      return { type: "StreamChunk", body, attachment: data.parts };
    } catch (err) {
      this.#logger.warn({ err, streamId }, "stream source failed");
      // Only our own size messages go to the peer: a source's error may name local paths.
      this.#abort(streamId, err instanceof DeclaredSizeError ? err.message : "the sender's source failed");
      return this.#serve(stream, seq);
    }
  }

  #touch(stream: OutboundStream): void {
    clearTimeout(stream.idleTimer);
    stream.idleTimer = setTimeout(() => {
      this.#abort(stream.offer.streamId, `no pull for ${this.#idleTimeoutMs} ms`);
      this.#streams.delete(stream.offer.streamId);
    }, this.#idleTimeoutMs).unref();
  }

  #finish(stream: OutboundStream): void {
    stream.state = "done";
    stream.close();
    this.#streams.delete(stream.offer.streamId);
  }

  /** Release the source now; keep a tombstone so the receiver's next pull learns why. */
  #abort(streamId: string, reason: string): void {
    const stream = this.#streams.get(streamId);
    if (!stream || stream.state !== "open") return;
    stream.state = "aborted";
    stream.abortReason = reason.slice(0, 1000);
    stream.close();
    this.#logger.debug({ streamId, reason }, "stream aborted");
    // The tombstone lives one more idle period at most.
    stream.idleTimer = setTimeout(() => this.#streams.delete(streamId), this.#idleTimeoutMs).unref();
  }
}
