/**
 * Provider allow/deny lists as a strategy decorator. Entries match the provider's node id (which
 * the protocol verifies) or its `agora.node.id.name` (which the provider merely declares: prefer
 * ids when it matters).
 */
import { UserError } from "../errors.js";
import {
  providerLabel,
  providerName,
  type MarketStrategy,
  type OfferCandidate,
  type ScoreResult,
} from "./strategy.js";

export interface ProviderFilterOptions {
  /** Only these providers (ids or names). @default everyone */
  readonly allow?: readonly string[];
  /** Never these providers (ids or names); wins over `allow`. @default nobody */
  readonly deny?: readonly string[];
}

export class ProviderFilter implements MarketStrategy {
  readonly base: MarketStrategy;
  readonly #allow: ReadonlySet<string> | undefined;
  readonly #deny: ReadonlySet<string>;

  /** @throws UserError on an empty entry. */
  constructor(base: MarketStrategy, options: ProviderFilterOptions) {
    for (const entry of [...(options.allow ?? []), ...(options.deny ?? [])]) {
      if (entry.trim() === "")
        throw new UserError("provider allow/deny lists must not contain empty entries");
    }
    this.base = base;
    this.#allow = options.allow === undefined ? undefined : new Set(options.allow);
    this.#deny = new Set(options.deny ?? []);
  }

  score(candidate: OfferCandidate): ScoreResult {
    const ids = [candidate.providerId, providerName(candidate)].filter((x): x is string => x !== undefined);
    if (ids.some((id) => this.#deny.has(id)))
      return { reject: `provider ${providerLabel(candidate)} is on the deny list` };
    const allow = this.#allow;
    if (allow && !ids.some((id) => allow.has(id))) {
      return { reject: `provider ${providerLabel(candidate)} is not on the allow list` };
    }
    return this.base.score(candidate);
  }
}
