/**
 * The requestor's side of the market protocol: publish a demand and collect proposals for a window,
 * rank them with a strategy, propose a signed agreement to the best and fall back to the next on a
 * rejection, terminate agreements, hear the providers' terminations.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { pino } from "pino";
import { AbortError, AgoraError, MarketError, ProtocolError } from "../errors.js";
import {
  agreementDocument,
  checkSignedAgreement,
  demandSubject,
  marketSubject,
  numberProperty,
  offerFromWire,
  PROP,
  rankOffers,
  signAgreement,
  specBody,
  type AgreementDocument,
  type Demand,
  type MarketStrategy,
  type Offer,
  type SignedAgreement,
  type Termination,
} from "../market/index.js";
import { BROADCAST, fromWireError, type NodeId } from "../protocol/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode, Subscription } from "../transport/index.js";

/** A proposal a provider made, with its verified sender. */
export interface ProposalCandidate {
  readonly providerId: NodeId;
  readonly proposalId: string;
  readonly demandId: string;
  readonly offer: Offer;
  readonly expiresAt: number;
}

/** A provider's refusal, with its reason. */
export interface Refusal {
  readonly providerId: NodeId;
  readonly reason: string;
}

export interface CollectedProposals {
  readonly demandId: string;
  readonly demand: Demand;
  /** In arrival order. */
  readonly proposals: readonly ProposalCandidate[];
  /** Providers that answered no, and proposals that did not parse. */
  readonly refusals: readonly Refusal[];
  /** Ms from publishing to the first proposal, if any came. */
  readonly firstProposalMs: number | undefined;
}

/**
 * Rank collected proposals with `strategy`, best first; the refusals are the providers' own plus
 * the proposals the strategy rejected (`strategy: <reason>`).
 */
export function rankProposals(
  strategy: MarketStrategy,
  collected: CollectedProposals,
): { readonly ranked: readonly ProposalCandidate[]; readonly refusals: Refusal[] } {
  const ranked = rankOffers(strategy, collected.proposals);
  return {
    ranked: ranked.accepted.map((a) => a.candidate as ProposalCandidate),
    refusals: [
      ...collected.refusals,
      ...ranked.rejected.map((r) => ({
        providerId: r.candidate.providerId,
        reason: `strategy: ${r.reason}`,
      })),
    ],
  };
}

export interface Negotiated {
  readonly agreement: SignedAgreement;
  readonly collected: CollectedProposals;
  /** Why each provider tried before the one that approved (or the strategy) said no. */
  readonly refusals: readonly Refusal[];
}

export interface MarketClientOptions {
  readonly node: SignedNode;
  /** @default "public" */
  readonly subnet?: string;
  /** @default silent */
  readonly logger?: Logger;
}

export interface CollectOptions {
  /** Gather answers for this long. */
  readonly windowMs: number;
  /** Stop as soon as this many proposals came. @default no limit */
  readonly maxProposals?: number;
  /** The demand's expiration. @default its `agora.srv.comp.expiration`, else 5 min */
  readonly expiresAt?: number;
  readonly signal?: AbortSignal;
}

export type TerminationListener = (agreementId: string, termination: Termination, by: NodeId) => void;

export class MarketClient {
  readonly node: SignedNode;
  readonly subnet: string;
  readonly #logger: Logger;
  readonly #agreements = new Map<string, SignedAgreement>();
  readonly #listeners = new Set<TerminationListener>();
  readonly #sub: Subscription;

  constructor(opts: MarketClientOptions) {
    this.node = opts.node;
    this.subnet = opts.subnet ?? "public";
    this.#logger = opts.logger ?? pino({ level: "silent" });
    this.#sub = this.node.serve(marketSubject(this.node.nodeId), (msg) => this.#onMarket(msg));
  }

  /** Hear terminations sent by providers; returns the unsubscribe function. */
  onTerminated(listener: TerminationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publish `demand` and gather every answer that arrives within `windowMs`. */
  async collectProposals(demand: Demand, opts: CollectOptions): Promise<CollectedProposals> {
    const demandId = randomUUID();
    const now = this.node.clock.now();
    const expiresAt = opts.expiresAt ?? numberProperty(demand.properties, PROP.expiration) ?? now + 300_000;
    const proposals: ProposalCandidate[] = [];
    const refusals: Refusal[] = [];
    const started = performance.now();
    let firstProposalMs: number | undefined;
    const replies = this.node.requestMany(
      demandSubject(this.subnet),
      BROADCAST,
      { type: "Demand", body: { demandId, subnet: this.subnet, spec: specBody(demand), expiresAt } },
      { maxWaitMs: opts.windowMs, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
    collect: for await (const reply of replies) {
      const providerId = reply.envelope.from;
      switch (reply.envelope.type) {
        case "Proposal": {
          const b = reply.envelope.body;
          if (b.demandId !== demandId) continue;
          try {
            proposals.push({
              providerId,
              proposalId: b.proposalId,
              demandId,
              offer: offerFromWire(b.spec),
              expiresAt: b.expiresAt,
            });
            firstProposalMs ??= performance.now() - started;
          } catch (err) {
            refusals.push({ providerId, reason: `its offer does not parse: ${(err as Error).message}` });
          }
          if (opts.maxProposals !== undefined && proposals.length >= opts.maxProposals) break collect;
          break;
        }
        case "DemandRejected":
          refusals.push({ providerId, reason: reply.envelope.body.reason });
          break;
        case "Error":
          refusals.push({
            providerId,
            reason: `${reply.envelope.body.code}: ${reply.envelope.body.message}`,
          });
          break;
        default:
          this.#logger.debug({ type: reply.envelope.type }, "ignoring an unexpected answer to a demand");
      }
    }
    this.#logger.debug(
      { demandId, proposals: proposals.length, refusals: refusals.length },
      "demand answered",
    );
    return { demandId, demand, proposals, refusals, firstProposalMs };
  }

  /**
   * Propose an agreement on `proposal`, signed by this node; resolves with the agreement signed by
   * both. @throws MarketError with the provider's reason when it rejects or its signature is bad.
   */
  async proposeAgreement(
    demand: Demand,
    proposal: ProposalCandidate,
    opts: { expiresAt: number; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<SignedAgreement> {
    const doc: AgreementDocument = agreementDocument({
      agreementId: randomUUID(),
      demandId: proposal.demandId,
      proposalId: proposal.proposalId,
      requestorId: this.node.nodeId,
      providerId: proposal.providerId,
      demand: specBody(demand),
      offer: specBody(proposal.offer),
      expiresAt: opts.expiresAt,
    });
    const requestorSignature = signAgreement(this.node.identity, doc);
    const ctx = { agreementId: doc.agreementId, providerId: proposal.providerId };
    const subject = marketSubject(proposal.providerId);
    const msg: AnyOutgoing = { type: "AgreementProposal", body: { ...specBodies(doc), requestorSignature } };
    const reply = await this.node.requestAny(subject, proposal.providerId, msg, {
      timeoutMs: opts.timeoutMs ?? 15_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (reply.envelope.type === "Error") throw fromWireError(reply.envelope.body, reply.envelope.from);
    if (reply.envelope.type === "AgreementRejected")
      throw new MarketError(`agreement rejected: ${reply.envelope.body.reason}`, ctx);
    if (reply.envelope.type !== "AgreementApproved") throw new MarketError("no approval", ctx);
    const { providerSignature, approvedAt } = reply.envelope.body;
    if (providerSignature === undefined)
      throw new MarketError("the provider approved without signing the terms", ctx);
    const agreement: SignedAgreement = { ...doc, requestorSignature, providerSignature, approvedAt };
    const bad = checkSignedAgreement(agreement);
    if (bad !== undefined) throw new MarketError(`agreement refused: ${bad}`, ctx);
    this.#agreements.set(agreement.agreementId, agreement);
    return agreement;
  }

  /**
   * Demand, rank the proposals with `strategy`, and agree with the best that approves.
   * @throws MarketError listing every refusal when nobody agrees.
   */
  async negotiate(
    demand: Demand,
    strategy: MarketStrategy,
    opts: CollectOptions & { readonly expiresAt: number; readonly timeoutMs?: number },
  ): Promise<Negotiated> {
    const collected = await this.collectProposals(demand, opts);
    const { ranked, refusals } = rankProposals(strategy, collected);
    for (const proposal of ranked) {
      try {
        const agreement = await this.proposeAgreement(demand, proposal, opts);
        return { agreement, collected, refusals };
      } catch (err) {
        // The provider said no, vanished or timed out: try the next. The caller's abort ends it all.
        if (!(err instanceof AgoraError) || err instanceof AbortError) throw err;
        refusals.push({ providerId: proposal.providerId, reason: err.message });
      }
    }
    const why = refusals.map((r) => `${r.providerId.slice(0, 8)}…: ${r.reason}`).join("; ");
    throw new MarketError(
      `no agreement: ${collected.proposals.length} proposal(s) in ${opts.windowMs} ms${why ? ` (${why})` : ""}`,
    );
  }

  /** Tell the provider the agreement ends (bounded wait; a provider already gone is fine). */
  async terminate(
    agreement: SignedAgreement,
    termination: Termination,
    opts: { timeoutMs?: number } = {},
  ): Promise<void> {
    this.#agreements.delete(agreement.agreementId);
    const body = {
      agreementId: agreement.agreementId,
      reason: termination.reason,
      ...(termination.message ? { message: termination.message.slice(0, 1024) } : {}),
    };
    await this.node.request(
      marketSubject(agreement.providerId),
      agreement.providerId,
      { type: "AgreementTerminated", body },
      { timeoutMs: opts.timeoutMs ?? 5_000, expect: "Ack" },
    );
  }

  /** Stop hearing terminations. */
  close(): void {
    this.#sub.unsubscribe();
    this.#listeners.clear();
  }

  #onMarket(msg: AnyInbound): AnyOutgoing {
    if (msg.envelope.type !== "AgreementTerminated")
      throw new ProtocolError(`unexpected ${msg.envelope.type} on the market subject`);
    const { agreementId, reason, message } = msg.envelope.body;
    const agreement = this.#agreements.get(agreementId);
    if (!agreement || agreement.providerId !== msg.envelope.from)
      throw new ProtocolError(`no agreement ${agreementId} with you`);
    this.#agreements.delete(agreementId);
    const termination: Termination = message === undefined ? { reason } : { reason, message };
    this.#logger.info({ agreementId, reason, message }, "the provider terminated the agreement");
    for (const l of this.#listeners) l(agreementId, termination, msg.envelope.from);
    return { type: "Ack", body: {} };
  }
}

function specBodies(doc: AgreementDocument) {
  return { ...doc, demand: specBody(doc.demand), offer: specBody(doc.offer) };
}
