/**
 * NatsBus: the Bus on a real nats-server (multi-machine mode). Every node connects outbound;
 * the client reconnects forever after a server restart and drains on close.
 */
import { Events, connect, createInbox } from "nats";
import type { ConnectionOptions, Msg, NatsConnection, Subscription as NatsSubscription } from "nats";
import type { Logger } from "pino";
import { pino } from "pino";
import { ConfigError, SizeLimitError } from "../errors.js";
import { BusClosedError, NoRespondersError } from "./errors.js";
import { awaitReply, collectReplies } from "./reply.js";
import { assertPublishSubject, assertSubscribeSubject } from "./subject.js";
import type { Bus, BusMessage, RequestManyOptions, RequestOptions, Subscription } from "./types.js";

export interface NatsBusOptions {
  /** `nats://host:port`, or several. */
  readonly servers: string | readonly string[];
  /** Connection name shown by the server's monitoring. */
  readonly name?: string;
  /** Pause between reconnect attempts (attempts never stop). @default 250 */
  readonly reconnectTimeWaitMs?: number;
  /** Give up on the first connect after this long. @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Bound on draining at `close()`; then the connection is closed hard. @default 5_000 */
  readonly drainTimeoutMs?: number;
  /** Anything else for the `nats` client (credentials, TLS, …); wins over the fields above. */
  readonly connectOptions?: Partial<ConnectionOptions>;
  /** Connection events and handler errors. @default silent */
  readonly logger?: Logger;
}

type ReplyHandler = (msg: Msg) => void;

function isNoResponders(msg: Msg): boolean {
  return msg.data.byteLength === 0 && msg.headers?.code === 503;
}

export class NatsBus implements Bus {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #drainTimeoutMs: number;
  readonly #inbox: string;
  readonly #pending = new Map<string, ReplyHandler>();
  readonly #onClose = new Set<() => void>();
  #nextToken = 0;
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, logger: Logger, drainTimeoutMs: number) {
    this.#nc = nc;
    this.#logger = logger;
    this.#drainTimeoutMs = drainTimeoutMs;
    this.#inbox = createInbox();
    // One wildcard inbox for every request of this connection (muxed by the last token).
    const prefix = `${this.#inbox}.`;
    nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (err) return this.#logger.warn({ err }, "reply inbox failed");
        this.#pending.get(msg.subject.slice(prefix.length))?.(msg);
      },
    });
    void this.#watchStatus();
  }

  /** Connect to nats-server; fails with `ConfigError` when it cannot be reached in time. */
  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const logger = opts.logger ?? pino({ level: "silent" });
    const servers = typeof opts.servers === "string" ? opts.servers : [...opts.servers];
    try {
      const nc = await connect({
        servers,
        ...(opts.name === undefined ? {} : { name: opts.name }),
        maxReconnectAttempts: -1,
        reconnectTimeWait: opts.reconnectTimeWaitMs ?? 250,
        reconnectJitter: 50,
        timeout: opts.connectTimeoutMs ?? 5_000,
        ...opts.connectOptions,
      });
      return new NatsBus(nc, logger, opts.drainTimeoutMs ?? 5_000);
    } catch (err) {
      throw new ConfigError(`cannot connect to NATS at ${String(servers)}`, { cause: err });
    }
  }

  /** The server's `max_payload` (largest message it accepts). */
  get maxPayload(): number {
    return this.#nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Resolve once the server has processed everything sent so far (subscriptions included). */
  async flush(): Promise<void> {
    this.#assertOpen("flush");
    await this.#nc.flush();
  }

  publish(subject: string, data: Uint8Array): void {
    this.#send(subject, data, undefined);
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    this.#assertOpen(`subscribe to ${subject}`);
    assertSubscribeSubject(subject);
    const sub: NatsSubscription = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.#logger.warn({ err, subject }, "subscription failed");
        const reply = msg.reply === undefined || msg.reply === "" ? undefined : msg.reply;
        try {
          handler({
            subject: msg.subject,
            data: msg.data,
            reply,
            respond: (answer) => {
              // Replies may still go out while draining: that is what draining is for.
              if (reply === undefined || this.#nc.isClosed()) return false;
              this.#send(reply, answer, undefined, true);
              return true;
            },
          });
        } catch (err) {
          this.#logger.error({ err, subject: msg.subject }, "bus handler threw");
        }
      },
    });
    return {
      subject,
      unsubscribe: () => {
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    if (this.#closing) return Promise.reject(new BusClosedError(`request on ${subject}`));
    return awaitReply(subject, opts, this.#onClose, (deliver, fail) =>
      this.#ask(subject, data, deliver, () => fail(new NoRespondersError(subject))),
    );
  }

  requestMany(subject: string, data: Uint8Array, opts: RequestManyOptions): AsyncIterable<Uint8Array> {
    this.#assertOpen(`requestMany on ${subject}`);
    return collectReplies(subject, opts, this.#onClose, (deliver, end) =>
      this.#ask(subject, data, deliver, end),
    );
  }

  /** Publish with a reply token on the muxed inbox; returns the cleanup that forgets the token. */
  #ask(subject: string, data: Uint8Array, onReply: (data: Uint8Array) => void, onNoResponders: () => void) {
    const token = this.#token();
    this.#pending.set(token, (msg) => (isNoResponders(msg) ? onNoResponders() : onReply(msg.data)));
    try {
      this.#send(subject, data, `${this.#inbox}.${token}`);
    } catch (err) {
      this.#pending.delete(token);
      throw err;
    }
    return (): void => void this.#pending.delete(token);
  }

  /** Drain (bounded by `drainTimeoutMs`), then close; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#drainTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.#nc.drain().then(() => "drained" as const), deadline]);
      if (outcome === "timeout") this.#logger.warn("drain timed out; closing the NATS connection");
    } catch (err) {
      this.#logger.warn({ err }, "drain failed; closing the NATS connection");
    } finally {
      clearTimeout(timer);
      for (const fn of [...this.#onClose]) fn();
      if (!this.#nc.isClosed()) await this.#nc.close();
    }
  }

  #token(): string {
    this.#nextToken = (this.#nextToken + 1) % Number.MAX_SAFE_INTEGER;
    return this.#nextToken.toString(36);
  }

  #assertOpen(what: string): void {
    if (this.#closing || this.#nc.isClosed()) throw new BusClosedError(what);
  }

  #send(subject: string, data: Uint8Array, reply: string | undefined, draining = false): void {
    if (!draining) this.#assertOpen(`publish to ${subject}`);
    assertPublishSubject(subject);
    if (data.byteLength > this.maxPayload) {
      throw new SizeLimitError(
        `payload of ${data.byteLength} bytes exceeds the maximum of ${this.maxPayload}`,
      );
    }
    this.#nc.publish(subject, data, reply === undefined ? undefined : { reply });
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.#nc.status()) {
        const notable =
          status.type === Events.Disconnect ||
          status.type === Events.Reconnect ||
          status.type === Events.Error;
        this.#logger[notable ? "info" : "debug"](
          { type: status.type, data: status.data },
          "nats connection status",
        );
      }
    } catch (err) {
      this.#logger.warn({ err }, "nats status stream failed");
    }
  }
}
