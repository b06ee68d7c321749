/**
 * The requestor's messages of the payment protocol: the signed answer to a debit note or an
 * invoice, and the delivery of a payment to its provider (resent while the provider is unreachable,
 * never after the provider refused it).
 */
import { setTimeout as delay } from "node:timers/promises";
import { AgoraError, PaymentError } from "../errors.js";
import {
  formatAmount,
  paymentSubject,
  type Decimal,
  type Decision,
  type PaymentWire,
} from "../payment/index.js";
import type { NodeId } from "../protocol/index.js";
import { BusClosedError, type AnyOutgoing, type SignedNode } from "../transport/index.js";

/** The Acceptance or Rejection (with its reason) of a billed document. */
export function answerFor(
  document: "DebitNote" | "Invoice",
  documentId: string,
  agreementId: string,
  decision: Decision,
  amount: Decimal,
): AnyOutgoing {
  return decision.accept
    ? {
        type: "Acceptance",
        body: { document, documentId, agreementId, acceptedAmount: formatAmount(amount) },
      }
    : {
        type: "Rejection",
        body: { document, documentId, agreementId, reason: decision.reason.slice(0, 1024) },
      };
}

/**
 * Send a signed Payment until the provider acknowledges it, within `timeoutMs`.
 * @throws PaymentError when the provider refuses it or time runs out; AbortError when aborted.
 */
export async function deliverPayment(
  node: SignedNode,
  providerId: NodeId,
  payment: PaymentWire,
  opts: { readonly timeoutMs: number; readonly signal: AbortSignal },
): Promise<void> {
  const deadline = node.clock.now() + opts.timeoutMs;
  let pause = 250;
  for (;;) {
    const remaining = deadline - node.clock.now();
    if (remaining <= 0) throw new PaymentError("the provider did not acknowledge the payment in time");
    try {
      await node.request(
        paymentSubject(providerId),
        providerId,
        { type: "Payment", body: payment },
        { timeoutMs: remaining, signal: opts.signal, expect: "Ack" },
      );
      return;
    } catch (err) {
      if (opts.signal.aborted || err instanceof BusClosedError || !(err instanceof AgoraError)) throw err;
      if (err instanceof PaymentError) throw err; // the provider refused it: no retry
      // An abort ends the wait early; the next request then throws it.
      await delay(Math.min(pause, Math.max(0, remaining)), undefined, { signal: opts.signal }).catch(
        () => undefined,
      );
      pause = Math.min(pause * 2, 5_000);
    }
  }
}
