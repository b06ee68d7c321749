/** Listening to providers' offer announcements on `agora.<subnet>.offers` (`agora market scan`). */
import { offerFromWire, offersSubject, type Offer } from "../market/index.js";
import type { NodeId } from "../protocol/index.js";
import type { SignedNode } from "../transport/index.js";

export interface LiveOffer {
  readonly providerId: NodeId;
  readonly offer: Offer;
  /** When the announcement stops being valid, epoch ms. */
  readonly expiresAt: number;
  /** When it was last heard, epoch ms. */
  readonly heardAt: number;
}

/**
 * Collect the offers announced in `subnet` for `durationMs` (the newest per provider; offers that
 * do not parse are skipped). Resolves early, with what was heard, when `signal` aborts.
 */
export async function scanOffers(
  node: SignedNode,
  opts: { subnet: string; durationMs: number; signal?: AbortSignal },
): Promise<LiveOffer[]> {
  const heard = new Map<NodeId, LiveOffer>();
  const sub = node.subscribe(offersSubject(opts.subnet), (msg) => {
    if (msg.envelope.type !== "OfferAnnouncement" || msg.envelope.body.subnet !== opts.subnet) return;
    try {
      heard.set(msg.envelope.from, {
        providerId: msg.envelope.from,
        offer: offerFromWire(msg.envelope.body.spec),
        expiresAt: msg.envelope.body.expiresAt,
        heardAt: node.clock.now(),
      });
    } catch {
      // An offer that does not parse is not live.
    }
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.durationMs);
      onAbort = resolve;
      if (opts.signal?.aborted) resolve();
      else opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
    sub.unsubscribe();
  }
  const now = node.clock.now();
  return [...heard.values()].filter((o) => o.expiresAt > now);
}
