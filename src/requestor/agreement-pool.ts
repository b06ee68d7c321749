/**
 * The Executor's agreements: negotiated in rounds (one demand, the best proposals agreed in
 * parallel), kept and reused across workers and submits, never again with a provider that failed
 * in this run, terminated (`Success`) at the end. Providers' own terminations are heard here.
 */
import type { Logger } from "pino";
import { AbortError, AgoraError } from "../errors.js";
import {
  providerName,
  type Demand,
  type MarketStrategy,
  type OfferCandidate,
  type ScoreResult,
  type SignedAgreement,
  type Termination,
} from "../market/index.js";
import type { ExecutorEvent } from "./events.js";
import { rankProposals, type ProposalCandidate, type Refusal } from "./market-client.js";
import type { RequestorNode } from "./requestor-node.js";

export interface AgreementPoolOptions {
  readonly node: RequestorNode;
  readonly demand: Demand;
  readonly strategy: MarketStrategy;
  readonly expiresAt: number;
  readonly windowMs: number;
  /** Stop collecting once this many proposals came (a local network knows its size). */
  readonly expectedProviders: number | undefined;
  readonly emit: (event: ExecutorEvent) => void;
  readonly logger: Logger;
  /**
   * PAYMENTS SEAM: called with each new agreement before any work runs on it, and when it ends.
   * The requestor payments module (debit notes, invoices, the budget's Allocation) plugs in here.
   * A throw from `onAgreement` (e.g. the budget cannot hold it) cancels the agreement.
   */
  readonly onAgreement?: (agreement: SignedAgreement) => void;
  /** Payments: may an agreement on this proposal be made (the budget can hold it)? @default yes */
  readonly canAgree?: (proposal: ProposalCandidate) => boolean;
  readonly onAgreementEnd?: (agreement: SignedAgreement) => void;
}

export interface PooledAgreement {
  readonly agreement: SignedAgreement;
  readonly providerName: string;
}

export class AgreementPool {
  readonly #o: AgreementPoolOptions;
  readonly #idle: PooledAgreement[] = [];
  readonly #inUse = new Map<string, PooledAgreement>();
  readonly #blocked = new Set<string>();
  readonly #lostListeners = new Set<(agreementId: string, termination: Termination) => void>();
  readonly #offTerminated: () => void;
  #lastRefusals: readonly Refusal[] = [];
  #lastProposals = 0;
  #everAgreed = false;
  #closed = false;

  constructor(o: AgreementPoolOptions) {
    this.#o = o;
    this.#offTerminated = o.node.market.onTerminated((agreementId, termination, by) =>
      this.#onProviderTerminated(agreementId, termination, by),
    );
  }

  /** Refusals heard in the last round, for a clear error when nobody agrees. */
  get lastRefusals(): readonly Refusal[] {
    return this.#lastRefusals;
  }

  get lastProposals(): number {
    return this.#lastProposals;
  }

  get everAgreed(): boolean {
    return this.#everAgreed;
  }

  get blocked(): ReadonlySet<string> {
    return this.#blocked;
  }

  /** Hear a provider's termination of an agreement in use (the worker on it must stop). */
  onLost(listener: (agreementId: string, termination: Termination) => void): () => void {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /** An idle agreement whose provider `wants` accepts, moved to in use. */
  takeIdle(wants: (providerId: string) => boolean): PooledAgreement | undefined {
    const i = this.#idle.findIndex((p) => wants(p.agreement.providerId));
    if (i < 0) return undefined;
    const [p] = this.#idle.splice(i, 1);
    if (p) this.#inUse.set(p.agreement.agreementId, p);
    return p;
  }

  /**
   * One market round: demand, rank, and agree with up to `count` of the best providers we hold no
   * agreement with (and that did not fail), in parallel. Returns the agreements made (in use).
   */
  async negotiate(count: number, signal: AbortSignal): Promise<PooledAgreement[]> {
    const { node, demand } = this.#o;
    const held = new Set([...this.#idle, ...this.#inUse.values()].map((p) => p.agreement.providerId));
    const strategy = excluding(this.#o.strategy, (id) =>
      this.#blocked.has(id) ? "failed earlier in this run" : held.has(id) ? "already in use" : undefined,
    );
    const collected = await node.market.collectProposals(demand, {
      windowMs: this.#o.windowMs,
      ...(this.#o.expectedProviders === undefined ? {} : { maxProposals: this.#o.expectedProviders }),
      expiresAt: this.#o.expiresAt,
      signal,
    });
    this.#o.emit({
      type: "market.demand_published",
      demandId: collected.demandId,
      subnet: node.market.subnet,
    });
    this.#o.emit({
      type: "market.proposals_collected",
      demandId: collected.demandId,
      proposals: collected.proposals.length,
      refusals: collected.refusals.length,
    });
    const { ranked, refusals } = rankProposals(strategy, collected);
    for (const r of refusals)
      this.#o.emit({ type: "market.proposal_rejected", providerId: r.providerId, reason: r.reason });
    const chosen = ranked.filter((c) => this.#o.canAgree?.(c) ?? true).slice(0, count);
    const made = await Promise.all(
      chosen.map(async (proposal) => {
        try {
          const agreement = await node.market.proposeAgreement(demand, proposal, {
            expiresAt: this.#o.expiresAt,
            timeoutMs: 10_000,
            signal,
          });
          return { agreement, providerName: providerName(proposal) ?? proposal.providerId.slice(0, 8) };
        } catch (err) {
          if (err instanceof AbortError || signal.aborted) return undefined;
          if (!(err instanceof AgoraError)) throw err;
          refusals.push({ providerId: proposal.providerId, reason: err.message });
          return undefined;
        }
      }),
    );
    this.#lastRefusals = refusals;
    this.#lastProposals = collected.proposals.length;
    const agreed = made.filter((p): p is PooledAgreement => p !== undefined);
    for (const p of agreed) {
      if (this.#closed) {
        void this.#terminate(p, { reason: "Cancelled", message: "the requestor is shutting down" });
        continue;
      }
      try {
        this.#o.onAgreement?.(p.agreement);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        void this.#terminate(p, { reason: "Cancelled", message: message.slice(0, 500) });
        continue;
      }
      this.#everAgreed = true;
      this.#inUse.set(p.agreement.agreementId, p);
      this.#o.logger.info(
        { agreementId: p.agreement.agreementId, providerId: p.agreement.providerId },
        "agreed",
      );
      this.#o.emit({
        type: "agreement.created",
        agreementId: p.agreement.agreementId,
        providerId: p.agreement.providerId,
        providerName: p.providerName,
      });
    }
    return this.#closed ? [] : agreed.filter((p) => this.#inUse.has(p.agreement.agreementId));
  }

  /**
   * Give back an agreement in use: kept for reuse, or (`failed`) its provider is not used again in
   * this run and the agreement is terminated.
   */
  async release(p: PooledAgreement, opts: { failed?: string } = {}): Promise<void> {
    if (!this.#inUse.delete(p.agreement.agreementId)) return; // terminated by the provider meanwhile
    if (opts.failed !== undefined) {
      this.#blocked.add(p.agreement.providerId);
      await this.#terminate(p, { reason: "Cancelled", message: opts.failed.slice(0, 500) });
      return;
    }
    if (this.#closed) await this.#terminate(p, { reason: "Success" });
    else this.#idle.push(p);
  }

  /**
   * End an agreement from the requestor's side for a reason of its own (payments: a rejected debit
   * note, the budget): its worker stops, a provider that overbilled is not used again.
   */
  async terminateAgreement(agreementId: string, termination: Termination): Promise<void> {
    const i = this.#idle.findIndex((p) => p.agreement.agreementId === agreementId);
    const p = i >= 0 ? this.#idle.splice(i, 1)[0] : this.#inUse.get(agreementId);
    if (!p) return;
    this.#inUse.delete(agreementId);
    if (termination.reason === "DebitNoteRejected") this.#blocked.add(p.agreement.providerId);
    for (const l of this.#lostListeners) l(agreementId, termination);
    await this.#terminate(p, termination);
  }

  /** Terminate every agreement (`Success`), bounded per agreement. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle, ...this.#inUse.values()];
    this.#idle.length = 0;
    this.#inUse.clear();
    await Promise.all(all.map((p) => this.#terminate(p, { reason: "Success" })));
    this.#offTerminated();
    this.#lostListeners.clear();
  }

  async #terminate(p: PooledAgreement, termination: Termination): Promise<void> {
    const { agreementId, providerId } = p.agreement;
    try {
      await this.#o.node.market.terminate(p.agreement, termination, { timeoutMs: 3_000 });
    } catch (err) {
      this.#o.logger.debug(
        { err, agreementId },
        "terminating the agreement failed (the provider may be gone)",
      );
    }
    this.#o.onAgreementEnd?.(p.agreement);
    this.#o.emit({
      type: "agreement.terminated",
      agreementId,
      providerId,
      reason: termination.reason,
      by: "requestor",
    });
  }

  #onProviderTerminated(agreementId: string, termination: Termination, by: string): void {
    const i = this.#idle.findIndex((p) => p.agreement.agreementId === agreementId);
    const p = i >= 0 ? this.#idle.splice(i, 1)[0] : this.#inUse.get(agreementId);
    if (!p) return;
    this.#inUse.delete(agreementId);
    if (termination.reason !== "NoActivity") this.#blocked.add(by);
    this.#o.onAgreementEnd?.(p.agreement);
    this.#o.emit({
      type: "agreement.terminated",
      agreementId,
      providerId: by,
      reason: termination.reason,
      by: "provider",
    });
    for (const l of this.#lostListeners) l(agreementId, termination);
  }
}

/** `strategy`, rejecting the providers `why` names a reason for. */
function excluding(
  strategy: MarketStrategy,
  why: (providerId: string) => string | undefined,
): MarketStrategy {
  return {
    score(candidate: OfferCandidate): ScoreResult {
      const reason = why(candidate.providerId);
      return reason === undefined ? strategy.score(candidate) : { reject: reason };
    },
  };
}
