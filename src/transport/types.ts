/** The Bus (DESIGN §3): the only way Agora nodes talk. Implementations pass one contract suite. */

/** A message delivered to a subscriber. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Where a reply goes, when the sender asked for one. */
  readonly reply: string | undefined;
  /** Publish `data` to `reply`; returns false (and sends nothing) when there is no reply subject. */
  respond(data: Uint8Array): boolean;
}

export interface Subscription {
  readonly subject: string;
  /** Stop delivery; safe to call twice. */
  unsubscribe(): void;
}

export interface RequestOptions {
  /** Fail with `TimeoutError` when no reply arrives in time. */
  readonly timeoutMs: number;
  /** Fail with `AbortError` when aborted. */
  readonly signal?: AbortSignal;
}

export interface RequestManyOptions {
  /** Collect replies for this long, then end the iteration. */
  readonly maxWaitMs: number;
  /** End the iteration early, with `AbortError`. */
  readonly signal?: AbortSignal;
}

export interface Bus {
  /** Fire and forget. Subjects are dot-separated tokens; no wildcards when publishing. */
  publish(subject: string, data: Uint8Array): void;
  /** Deliver every message whose subject matches; `*` matches one token, a final `>` one or more. */
  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription;
  /** Send and await the first reply. `NoRespondersError` when nobody listens on `subject`. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array>;
  /** Scatter/gather: yield every reply that arrives within `maxWaitMs`; ends early when nobody listens. */
  requestMany(subject: string, data: Uint8Array, opts: RequestManyOptions): AsyncIterable<Uint8Array>;
  /** Flush what is in flight and disconnect; safe to call twice. */
  close(): Promise<void>;
}
