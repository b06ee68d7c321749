/**
 * `DecreaseScoreForUnconfirmedAgreement`: a decorator that lowers the score of providers that did
 * not confirm the last agreement proposed to them (rejected it or let it time out), so the market
 * tries others first without excluding them.
 */
import { UserError } from "../errors.js";
import type { MarketStrategy, OfferCandidate, ScoreResult } from "./strategy.js";

export interface DecreaseScoreOptions {
  /** The multiplier for unconfirmed providers, in [0, 1]. @default 0.5 */
  readonly factor?: number;
}

export class DecreaseScoreForUnconfirmedAgreement implements MarketStrategy {
  readonly base: MarketStrategy;
  readonly factor: number;
  readonly #unconfirmed = new Set<string>();

  /** @throws UserError if `factor` is outside [0, 1]. */
  constructor(base: MarketStrategy, options: DecreaseScoreOptions = {}) {
    const factor = options.factor ?? 0.5;
    if (!Number.isFinite(factor) || factor < 0 || factor > 1) {
      throw new UserError(`invalid factor ${factor}: expected a number in [0, 1]`);
    }
    this.base = base;
    this.factor = factor;
  }

  /** The provider approved an agreement: its score is no longer lowered. */
  agreementConfirmed(providerId: string): void {
    this.#unconfirmed.delete(providerId);
  }

  /** The provider rejected an agreement proposal or did not answer in time. */
  agreementUnconfirmed(providerId: string): void {
    this.#unconfirmed.add(providerId);
  }

  isUnconfirmed(providerId: string): boolean {
    return this.#unconfirmed.has(providerId);
  }

  score(candidate: OfferCandidate): ScoreResult {
    const r = this.base.score(candidate);
    if ("reject" in r || !this.#unconfirmed.has(candidate.providerId)) return r;
    return { score: r.score * this.factor };
  }
}
