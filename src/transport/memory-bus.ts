/** MemoryBus: the in-process Bus (embedded default, unit tests). NATS semantics, no network. */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { pino } from "pino";
import { SizeLimitError } from "../errors.js";
import { awaitReply, collectReplies } from "./reply.js";
import { BusClosedError, NoRespondersError } from "./errors.js";
import { assertPublishSubject, assertSubscribeSubject, subjectMatches } from "./subject.js";
import type { Bus, BusMessage, RequestManyOptions, RequestOptions, Subscription } from "./types.js";

export interface MemoryBusOptions {
  /** Largest payload accepted by `publish` (as nats-server's `max_payload`). @default 1_048_576 */
  readonly maxPayload?: number;
  /** Where handler errors are logged. @default silent */
  readonly logger?: Logger;
}

interface Sub {
  readonly pattern: string;
  readonly wildcard: boolean;
  readonly handler: (msg: BusMessage) => void;
  active: boolean;
}

interface Delivery {
  readonly sub: Sub;
  readonly msg: BusMessage;
}

export class MemoryBus implements Bus {
  readonly maxPayload: number;
  readonly #logger: Logger;
  readonly #literal = new Map<string, Set<Sub>>();
  readonly #wildcard = new Set<Sub>();
  #queue: Delivery[] = [];
  #scheduled = false;
  #closed = false;
  readonly #onClose = new Set<() => void>();

  constructor(opts: MemoryBusOptions = {}) {
    this.maxPayload = opts.maxPayload ?? 1024 * 1024;
    this.#logger = opts.logger ?? pino({ level: "silent" });
  }

  /** Live subscriptions, reply inboxes included (for tests and diagnostics). */
  get subscriptionCount(): number {
    let n = this.#wildcard.size;
    for (const set of this.#literal.values()) n += set.size;
    return n;
  }

  publish(subject: string, data: Uint8Array): void {
    this.#publish(subject, data, undefined);
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    if (this.#closed) throw new BusClosedError(`subscribe to ${subject}`);
    assertSubscribeSubject(subject);
    const sub: Sub = { pattern: subject, wildcard: /(^|\.)[*>](\.|$)/.test(subject), handler, active: true };
    if (sub.wildcard) this.#wildcard.add(sub);
    else {
      let set = this.#literal.get(subject);
      if (!set) this.#literal.set(subject, (set = new Set()));
      set.add(sub);
    }
    return {
      subject,
      unsubscribe: () => {
        if (!sub.active) return;
        sub.active = false;
        if (sub.wildcard) this.#wildcard.delete(sub);
        else {
          const set = this.#literal.get(subject);
          set?.delete(sub);
          if (set?.size === 0) this.#literal.delete(subject);
        }
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new BusClosedError(`request on ${subject}`));
    return awaitReply(subject, opts, this.#onClose, (deliver, fail) =>
      this.#ask(subject, data, deliver, () => fail(new NoRespondersError(subject))),
    );
  }

  requestMany(subject: string, data: Uint8Array, opts: RequestManyOptions): AsyncIterable<Uint8Array> {
    if (this.#closed) throw new BusClosedError(`requestMany on ${subject}`);
    return collectReplies(subject, opts, this.#onClose, (deliver, end) =>
      this.#ask(subject, data, deliver, end),
    );
  }

  /** Publish with a fresh reply inbox; returns the cleanup that removes the inbox. */
  #ask(subject: string, data: Uint8Array, onReply: (data: Uint8Array) => void, onNoResponders: () => void) {
    const sub = this.subscribe(`_INBOX.${randomUUID()}`, (msg) => onReply(msg.data));
    try {
      if (this.#publish(subject, data, sub.subject) === 0) onNoResponders();
    } catch (err) {
      sub.unsubscribe();
      throw err;
    }
    return (): void => sub.unsubscribe();
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const fn of [...this.#onClose]) fn();
      for (const set of this.#literal.values()) for (const sub of set) sub.active = false;
      for (const sub of this.#wildcard) sub.active = false;
      this.#literal.clear();
      this.#wildcard.clear();
    }
    return Promise.resolve();
  }

  /** Queue delivery to every matching subscription; returns how many matched. */
  #publish(subject: string, data: Uint8Array, reply: string | undefined): number {
    if (this.#closed) throw new BusClosedError(`publish to ${subject}`);
    assertPublishSubject(subject);
    if (data.byteLength > this.maxPayload) {
      throw new SizeLimitError(
        `payload of ${data.byteLength} bytes exceeds the maximum of ${this.maxPayload}`,
      );
    }
    const copy = data.slice(); // the sender may reuse its buffer, as with a socket
    const msg: BusMessage = {
      subject,
      data: copy,
      reply,
      respond: (answer) => {
        if (reply === undefined || this.#closed) return false;
        this.#publish(reply, answer, undefined);
        return true;
      },
    };
    let matched = 0;
    for (const sub of this.#literal.get(subject) ?? []) {
      this.#queue.push({ sub, msg });
      matched++;
    }
    for (const sub of this.#wildcard) {
      if (!subjectMatches(sub.pattern, subject)) continue;
      this.#queue.push({ sub, msg });
      matched++;
    }
    if (matched > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return matched;
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    for (const { sub, msg } of batch) {
      if (!sub.active) continue;
      try {
        sub.handler(msg);
      } catch (err) {
        this.#logger.error({ err, subject: msg.subject }, "bus handler threw");
      }
    }
  }
}
