/**
 * Delivering a debit note or an invoice to the requestor before its acceptance deadline: the same
 * document is sent again (the requestor answers duplicates with its first decision) while the
 * requestor is unreachable or slow, until it accepts, rejects, or the deadline passes.
 */
import { setTimeout as delay } from "node:timers/promises";
import { AbortError, AgoraError } from "../errors.js";
import { fromWireError, type NodeId } from "../protocol/index.js";
import { paymentSubject } from "../payment/index.js";
import type { AnyOutgoing, SignedNode } from "../transport/index.js";
import { BusClosedError, NoRespondersError } from "../transport/index.js";

/** What became of a billed document. */
export type DeliveryOutcome =
  | { readonly kind: "accepted"; readonly acceptedAmount: string }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "deadline"; readonly lastError: string | undefined }
  /** Nobody served the requestor's payment subject, `maxUnreachable` times in a row. */
  | { readonly kind: "unreachable" }
  | { readonly kind: "aborted" };

export interface DeliveryOptions {
  readonly node: SignedNode;
  readonly to: NodeId;
  readonly message: Extract<AnyOutgoing, { type: "DebitNote" | "Invoice" }>;
  readonly documentId: string;
  /** Epoch ms (the node's clock) by which the requestor must have answered. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  /** First pause between attempts after a failure; doubles up to 5 s. @default 250 */
  readonly retryMs?: number;
  /** Give up after this many "no responders" in a row. @default unlimited (until the deadline) */
  readonly maxUnreachable?: number;
}

const MAX_RETRY_MS = 5_000;

/** Send until answered or out of time. Never throws. */
export async function deliverDocument(o: DeliveryOptions): Promise<DeliveryOutcome> {
  let pause = o.retryMs ?? 250;
  let lastError: string | undefined;
  let unreachable = 0;
  for (;;) {
    if (o.signal.aborted) return { kind: "aborted" };
    const remaining = o.deadline - o.node.clock.now();
    if (remaining <= 0) return { kind: "deadline", lastError };
    try {
      const reply = await o.node.requestAny(paymentSubject(o.to), o.to, o.message, {
        timeoutMs: remaining,
        signal: o.signal,
      });
      const env = reply.envelope;
      switch (env.type) {
        case "Acceptance":
          if (env.body.documentId === o.documentId)
            return { kind: "accepted", acceptedAmount: env.body.acceptedAmount };
          lastError = "an acceptance of another document";
          break;
        case "Rejection":
          if (env.body.documentId === o.documentId) return { kind: "rejected", reason: env.body.reason };
          lastError = "a rejection of another document";
          break;
        case "Error":
          lastError = fromWireError(env.body, env.from).message;
          break;
        default:
          lastError = `an unexpected ${env.type}`;
      }
    } catch (err) {
      if (err instanceof AbortError || err instanceof BusClosedError || o.signal.aborted)
        return { kind: "aborted" };
      if (!(err instanceof AgoraError)) throw err;
      lastError = err.message;
      unreachable = err instanceof NoRespondersError ? unreachable + 1 : 0;
      if (unreachable >= (o.maxUnreachable ?? Infinity)) return { kind: "unreachable" };
    }
    const wait = Math.min(pause, Math.max(0, o.deadline - o.node.clock.now()));
    pause = Math.min(pause * 2, MAX_RETRY_MS);
    try {
      await delay(wait, undefined, { signal: o.signal });
    } catch {
      return { kind: "aborted" };
    }
  }
}
