/**
 * Agreement terms as pure data (DESIGN §5): who, what (demand and offer), prices, expiration.
 * Signing and the agreement messages live in the protocol module; this file only derives and
 * validates the terms both sides sign.
 */
import { MarketError, PaymentError } from "../errors.js";
import { LinearPricing, type AgreedTerms } from "../payment/index.js";
import { terminationReasons, type TerminationReason } from "../protocol/index.js";
import { matches } from "./matching.js";
import { numberProperty, PROP } from "./properties.js";
import type { Demand, Offer } from "./spec.js";

export { terminationReasons, type TerminationReason };

/** True for one of DESIGN §5's termination reasons. */
export function isTerminationReason(value: unknown): value is TerminationReason {
  return typeof value === "string" && (terminationReasons as readonly string[]).includes(value);
}

/** A termination: the reason and, for people, a message. */
export interface Termination {
  readonly reason: TerminationReason;
  readonly message?: string;
}

export interface AgreementTerms {
  readonly agreementId: string;
  readonly requestorId: string;
  readonly providerId: string;
  readonly demand: Demand;
  readonly offer: Offer;
  /** Read from the offer's pricing properties. */
  readonly pricing: LinearPricing;
  /** `agora.inf.cpu.threads` of the offer. */
  readonly threads: number;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Seconds between debit notes (demand's value, else the offer's), if negotiated. */
  readonly debitNoteIntervalSec: number | undefined;
  /** Seconds the requestor has to accept a debit note (demand's value, else the offer's), if negotiated. */
  readonly paymentAcceptTimeoutSec: number | undefined;
}

export interface AgreementTermsInput {
  readonly agreementId: string;
  readonly requestorId: string;
  readonly providerId: string;
  readonly demand: Demand;
  readonly offer: Offer;
  /** Epoch ms; must be after `now`. */
  readonly expiresAt: number;
  /** Epoch ms. @default Date.now() */
  readonly now?: number;
}

/**
 * Derive and check the terms of an agreement: the demand and offer match both ways, the offer
 * has valid linear pricing and a thread count, and the agreement has not expired.
 * @throws MarketError with the reason, carrying agreement and provider ids.
 */
export function agreementTerms(input: AgreementTermsInput): AgreementTerms {
  const ctx = { agreementId: input.agreementId, providerId: input.providerId };
  const fail = (why: string, cause?: unknown) =>
    new MarketError(`agreement ${input.agreementId}: ${why}`, cause === undefined ? ctx : { ...ctx, cause });
  const now = input.now ?? Date.now();
  if (!Number.isSafeInteger(input.expiresAt) || input.expiresAt <= now) {
    throw fail(`expires at ${input.expiresAt}, which is not after now (${now})`);
  }
  if (input.requestorId === input.providerId) throw fail("requestor and provider are the same node");
  const m = matches(input.demand, input.offer);
  if (!m.ok) throw fail(m.reason);
  let pricing: LinearPricing;
  try {
    pricing = LinearPricing.fromProperties(input.offer.properties);
  } catch (err) {
    throw err instanceof PaymentError ? fail(err.message, err) : err;
  }
  const threads = numberProperty(input.offer.properties, PROP.cpuThreads);
  if (threads === undefined || !Number.isInteger(threads) || threads < 1) {
    throw fail(`the offer's ${PROP.cpuThreads} must be a whole number ≥ 1`);
  }
  const negotiated = (key: string) =>
    numberProperty(input.demand.properties, key) ?? numberProperty(input.offer.properties, key);
  return {
    agreementId: input.agreementId,
    requestorId: input.requestorId,
    providerId: input.providerId,
    demand: input.demand,
    offer: input.offer,
    pricing,
    threads,
    expiresAt: input.expiresAt,
    debitNoteIntervalSec: negotiated(PROP.debitNoteIntervalSec),
    paymentAcceptTimeoutSec: negotiated(PROP.paymentAcceptTimeoutSec),
  };
}

/** The part of the terms the requestor's payment acceptance needs. */
export function agreedPaymentTerms(terms: AgreementTerms, approvedAt: number): AgreedTerms {
  return { agreementId: terms.agreementId, pricing: terms.pricing, threads: terms.threads, approvedAt };
}
