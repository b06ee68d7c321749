/**
 * Images over the Bus (DESIGN §9): a node (the requestor) serves the archives its package names
 * by hash, as pull-based chunked streams; a provider fetches them with `BusImageSource`.
 *
 * Request `ImageGet { hash }` on `agora.node.<servingNodeId>.image`; the reply is a `StreamOffer`
 * (size and sha256 of the archive) pulled with `receiveStream`, or an `Error` with code
 * `IMAGE_ERROR` when that node does not serve the hash.
 */
import { createReadStream } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { ImageError, ImageHashMismatchError, ProtocolError } from "../errors.js";
import type { NodeId } from "../protocol/index.js";
import {
  NoRespondersError,
  receiveStream,
  StreamAbortedError,
  StreamIntegrityError,
  type SignedNode,
  type StreamSender,
  type Subscription,
} from "../transport/index.js";
import { hashHex, isImageHash } from "./hash.js";
import type { ImageStore } from "./store.js";
import type { ImageHash, ImageSource } from "./types.js";

/** The subject a node serves images on. */
export function imageSubject(nodeId: NodeId): string {
  return `agora.node.${nodeId}.image`;
}

export interface ImageServerOptions {
  readonly node: SignedNode;
  /** Streams the archives (its idle timeout frees archives nobody pulls). */
  readonly sender: StreamSender;
  readonly store: ImageStore;
  /** Serve only these hashes (the images the package names). @default every archive in the store */
  readonly hashes?: Iterable<ImageHash>;
}

/** Serves stored archives by hash to the nodes that ask. */
export class ImageServer {
  readonly subject: string;
  readonly #store: ImageStore;
  readonly #sender: StreamSender;
  readonly #allowed: ReadonlySet<string> | undefined;
  readonly #sub: Subscription;

  constructor(opts: ImageServerOptions) {
    this.#store = opts.store;
    this.#sender = opts.sender;
    this.#allowed = opts.hashes === undefined ? undefined : new Set(opts.hashes);
    this.subject = imageSubject(opts.node.nodeId);
    this.#sub = opts.node.serve(this.subject, async (msg) => {
      if (msg.envelope.type !== "ImageGet") throw new ProtocolError(`unexpected ${msg.envelope.type}`);
      const { hash } = msg.envelope.body;
      if (!isImageHash(hash) || (this.#allowed && !this.#allowed.has(hash)))
        throw new ImageError(`image ${hash} is not served by this node`);
      const stored = await this.#store.get(hash);
      if (!stored) throw new ImageError(`image ${hash} is not served by this node`);
      await this.#store.touch(hash);
      const source = createReadStream(this.#store.archivePath(hash), { highWaterMark: 512 * 1024 });
      const offer = this.#sender.offer(source, {
        to: msg.envelope.from,
        size: stored.sizeBytes,
        sha256: hashHex(hash),
      });
      return { type: "StreamOffer", body: offer };
    });
  }

  /** Stop serving (streams already offered are the sender's to end); safe to call twice. */
  close(): void {
    this.#sub.unsubscribe();
  }
}

export interface BusImageSourceOptions {
  readonly node: SignedNode;
  /** The node that serves the images (the requestor). */
  readonly from: NodeId;
  /** How long to wait for the offer, and for each chunk. @default 30_000 */
  readonly timeoutMs?: number;
  /** Chunk pulls in flight at once. @default the transport's (2) */
  readonly window?: number;
}

/** Fetches archives from a node that serves them over the Bus. */
export class BusImageSource implements ImageSource {
  readonly name: string;
  readonly #node: SignedNode;
  readonly #from: NodeId;
  readonly #timeoutMs: number;
  readonly #window: number | undefined;

  constructor(opts: BusImageSourceOptions) {
    this.#node = opts.node;
    this.#from = opts.from;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#window = opts.window;
    this.name = `node ${opts.from.slice(0, 12)}…`;
  }

  async open(hash: ImageHash, opts: { signal: AbortSignal }): Promise<Readable | undefined> {
    let offer;
    try {
      const reply = await this.#node.request(
        imageSubject(this.#from),
        this.#from,
        { type: "ImageGet", body: { hash } },
        { timeoutMs: this.#timeoutMs, signal: opts.signal, expect: "StreamOffer" },
      );
      offer = reply.envelope.body;
    } catch (err) {
      // That node does not serve this hash, or serves no images at all.
      if (err instanceof ImageError || err instanceof NoRespondersError) return undefined;
      throw err;
    }
    const inner = receiveStream({
      node: this.#node,
      from: this.#from,
      offer,
      idleTimeoutMs: this.#timeoutMs,
      ...(this.#window === undefined ? {} : { window: this.#window }),
      signal: opts.signal,
    });
    return verifying(inner, hash, this.name);
  }
}

/**
 * Pass `inner` through so that a stream that broke its declared size or sha256 fails as
 * `ImageHashMismatchError` (what a fetch of the wrong bytes is), and a sender that gave up fails
 * as `ImageError` naming the source.
 */
function verifying(inner: Readable, hash: ImageHash, source: string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  inner.on("error", (err) => {
    if (out.destroyed) return;
    if (err instanceof StreamIntegrityError)
      out.destroy(new ImageHashMismatchError(hash, `other bytes (${err.message})`));
    else if (err instanceof StreamAbortedError && err.by === "sender")
      out.destroy(new ImageError(`${source} stopped sending image ${hash}: ${err.message}`, { cause: err }));
    else out.destroy(err);
  });
  out.on("close", () => {
    if (!inner.destroyed) inner.destroy();
  });
  inner.pipe(out);
  return out;
}
