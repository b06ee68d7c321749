/**
 * A requestor on the Bus: its signed node, the stream sender for uploads, the image server for the
 * package's images (providers fetch them by hash), the market client and the activity client.
 * The Executor builds on this.
 */
import type { Logger } from "pino";
import { pino } from "pino";
import { ImageServer, type ImageHash, type ImageStore } from "../images/index.js";
import { NodeIdentity, type Clock } from "../protocol/index.js";
import { SignedNode, StreamSender, type Bus } from "../transport/index.js";
import { ActivityClient } from "./activity-client.js";
import { MarketClient } from "./market-client.js";

export interface RequestorNodeOptions {
  readonly bus: Bus;
  /** @default a fresh identity */
  readonly identity?: NodeIdentity;
  /** @default "public" */
  readonly subnet?: string;
  /** Serves `images` to providers. */
  readonly imageStore: ImageStore;
  /** The hashes of the package's images: only these are served. @default none */
  readonly images?: Iterable<ImageHash>;
  /** @default silent */
  readonly logger?: Logger;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Free an upload or image stream nobody pulls for this long. @default 30_000 */
  readonly streamIdleTimeoutMs?: number;
}

export class RequestorNode {
  readonly node: SignedNode;
  readonly market: MarketClient;
  readonly activities: ActivityClient;
  readonly #sender: StreamSender;
  readonly #images: ImageServer;
  #closed = false;

  constructor(opts: RequestorNodeOptions) {
    const logger = opts.logger ?? pino({ level: "silent" });
    this.node = new SignedNode({
      bus: opts.bus,
      identity: opts.identity ?? NodeIdentity.generate(),
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.#sender = new StreamSender({
      node: this.node,
      logger,
      ...(opts.streamIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: opts.streamIdleTimeoutMs }),
    });
    this.#images = new ImageServer({
      node: this.node,
      sender: this.#sender,
      store: opts.imageStore,
      hashes: opts.images ?? [],
    });
    this.market = new MarketClient({ node: this.node, subnet: opts.subnet ?? "public", logger });
    this.activities = new ActivityClient({ node: this.node, sender: this.#sender, logger });
  }

  get nodeId(): string {
    return this.node.nodeId;
  }

  /** Stop serving (the bus stays open: it is the caller's). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.activities.close();
    this.market.close();
    this.#images.close();
    this.#sender.close();
    this.node.close();
  }
}
