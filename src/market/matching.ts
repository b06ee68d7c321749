/** Does a demand match an offer? Both ways, with a reason when not (DESIGN §5). */
import type { Demand, Offer } from "./spec.js";

export type MatchResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * The demand's constraints are evaluated on the offer's properties and the offer's constraints on
 * the demand's properties; both must hold.
 */
export function matches(demand: Demand, offer: Offer): MatchResult {
  const forDemand = demand.constraints.explain(offer.properties);
  if (forDemand !== undefined)
    return { ok: false, reason: `the offer does not satisfy the demand: ${forDemand}` };
  const forOffer = offer.constraints.explain(demand.properties);
  if (forOffer !== undefined)
    return { ok: false, reason: `the demand does not satisfy the offer: ${forOffer}` };
  return { ok: true };
}
