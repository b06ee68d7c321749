/**
 * Requestor market strategies (DESIGN §5): score each offer (higher is better) or reject it with a
 * reason. Custom strategies implement `MarketStrategy`; decorators wrap another strategy.
 */
import { PROP, stringProperty } from "./properties.js";
import type { Offer } from "./spec.js";

/** An offer from one provider, as a strategy sees it. */
export interface OfferCandidate {
  /** The provider's node id (verified by the protocol layer). */
  readonly providerId: string;
  readonly offer: Offer;
}

/** A finite, non-negative score (higher is better), or a rejection with a reason. */
export type ScoreResult = { readonly score: number } | { readonly reject: string };

export interface MarketStrategy {
  score(candidate: OfferCandidate): ScoreResult;
}

/** The provider's self-declared name (`agora.node.id.name`), if any. */
export function providerName(candidate: OfferCandidate): string | undefined {
  return stringProperty(candidate.offer.properties, PROP.nodeName);
}

/** A short label for messages: `name (id)` or the id. */
export function providerLabel(candidate: OfferCandidate): string {
  const name = providerName(candidate);
  return name === undefined ? candidate.providerId : `${name} (${candidate.providerId})`;
}

export interface RankedOffers {
  /** Best first; equal scores keep their input order. */
  readonly accepted: readonly { readonly candidate: OfferCandidate; readonly score: number }[];
  readonly rejected: readonly { readonly candidate: OfferCandidate; readonly reason: string }[];
}

/** Score every candidate and sort the accepted ones best first. */
export function rankOffers(strategy: MarketStrategy, candidates: Iterable<OfferCandidate>): RankedOffers {
  const accepted: { candidate: OfferCandidate; score: number }[] = [];
  const rejected: { candidate: OfferCandidate; reason: string }[] = [];
  for (const candidate of candidates) {
    const r = strategy.score(candidate);
    if ("reject" in r) rejected.push({ candidate, reason: r.reject });
    else if (!Number.isFinite(r.score) || r.score < 0) {
      rejected.push({ candidate, reason: `strategy gave an invalid score ${r.score}` });
    } else accepted.push({ candidate, score: r.score });
  }
  accepted.sort((a, b) => b.score - a.score); // Array#sort is stable
  return { accepted, rejected };
}
