/**
 * The provider's side of the market protocol on a SignedNode: answers demands on
 * `agora.<subnet>.demand` (Proposal or DemandRejected with the reason), approves or rejects
 * agreement proposals on `agora.node.<self>.market` (signing the terms), takes and sends
 * terminations, and announces its offer on `agora.<subnet>.offers`.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ProtocolError } from "../errors.js";
import {
  agreementDocument,
  demandSubject,
  marketSubject,
  offersSubject,
  signAgreement,
  specBody,
  type SignedAgreement,
  type TerminationReason,
} from "../market/index.js";
import type { MessageBody, NodeId } from "../protocol/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode, Subscription } from "../transport/index.js";
import type { AgreementRecord, AgreementRegistry } from "./agreements.js";
import type { MadeProposal, Negotiator } from "./negotiator.js";

export interface MarketServiceOptions {
  readonly node: SignedNode;
  readonly negotiator: Negotiator;
  readonly agreements: AgreementRegistry;
  readonly subnet: string;
  readonly logger: Logger;
  /** How long a proposal stays valid. */
  readonly proposalTtlMs: number;
  /** Offer announcement period; 0 = never. */
  readonly announceIntervalMs: number;
  /** An agreement ended (either side): free its activities. */
  readonly onTerminated: (record: AgreementRecord) => Promise<void>;
}

/** Most unanswered proposals remembered at once. */
const MAX_PROPOSALS = 10_000;
/** How long the provider waits for the requestor to acknowledge a termination. */
const TERMINATE_NOTIFY_MS = 5_000;

export class MarketService {
  readonly #o: MarketServiceOptions;
  readonly #proposals = new Map<string, MadeProposal>();
  readonly #subs: Subscription[] = [];
  #announcer: NodeJS.Timeout | undefined;

  constructor(opts: MarketServiceOptions) {
    this.#o = opts;
  }

  start(): void {
    const { node } = this.#o;
    this.#subs.push(node.serve(demandSubject(this.#o.subnet), (msg) => this.#onDemand(msg)));
    this.#subs.push(node.serve(marketSubject(node.nodeId), (msg) => this.#onMarket(msg)));
    if (this.#o.announceIntervalMs > 0) {
      this.announce();
      this.#announcer = setInterval(() => this.announce(), this.#o.announceIntervalMs).unref();
    }
  }

  /** Stop answering (agreements stay as they are). */
  stop(): void {
    clearInterval(this.#announcer);
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }

  /** Broadcast the offer once. */
  announce(): void {
    const { node, negotiator, subnet } = this.#o;
    const expiresAt = node.clock.now() + Math.max(3 * this.#o.announceIntervalMs, 30_000);
    try {
      node.send(offersSubject(subnet), "*", {
        type: "OfferAnnouncement",
        body: { subnet, spec: specBody(negotiator.offer), expiresAt },
      });
    } catch (err) {
      this.#o.logger.warn({ err }, "announcing the offer failed");
    }
  }

  /** Terminate an agreement from this side and tell the requestor (bounded wait). */
  async terminate(record: AgreementRecord, reason: TerminationReason, message?: string): Promise<void> {
    if (!this.#o.agreements.terminate(record, reason, message)) return;
    await this.notifyTerminated(record);
  }

  /** Tell the requestor that `record` ended (its termination is already recorded), then free it. */
  async notifyTerminated(record: AgreementRecord): Promise<void> {
    const { node, logger } = this.#o;
    const { agreementId, requestorId } = record.agreement;
    const t = record.termination ?? { reason: "Success" as const };
    logger.info({ agreementId, reason: t.reason, detail: t.message }, "agreement terminated");
    const freeing = this.#o
      .onTerminated(record)
      .catch((err: unknown) =>
        logger.warn({ err, agreementId }, "freeing the agreement's activities failed"),
      );
    try {
      await node.request(
        marketSubject(requestorId),
        requestorId,
        {
          type: "AgreementTerminated",
          body: {
            agreementId,
            reason: t.reason,
            ...(t.message ? { message: t.message.slice(0, 1024) } : {}),
          },
        },
        { timeoutMs: TERMINATE_NOTIFY_MS, expect: "Ack" },
      );
    } catch (err) {
      logger.debug({ err, agreementId }, "the requestor did not acknowledge the termination");
    }
    await freeing;
  }

  #onDemand(msg: AnyInbound): AnyOutgoing | undefined {
    if (msg.envelope.type !== "Demand") return undefined;
    const { node, negotiator, agreements, logger } = this.#o;
    const body = msg.envelope.body;
    const now = node.clock.now();
    const verdict = negotiator.reviewDemand(msg.envelope.from, body, agreements.active, now);
    if (!verdict.ok) {
      logger.debug({ demandId: body.demandId, reason: verdict.reason }, "demand refused");
      return {
        type: "DemandRejected",
        body: { demandId: body.demandId, reason: verdict.reason.slice(0, 1024) },
      };
    }
    this.#prune(now);
    const offer = specBody(negotiator.offer);
    const made: MadeProposal = {
      proposalId: randomUUID(),
      demandId: body.demandId,
      requestorId: msg.envelope.from,
      demand: body.spec,
      offer,
      expiresAt: Math.min(body.expiresAt, now + this.#o.proposalTtlMs),
    };
    this.#proposals.set(made.proposalId, made);
    return {
      type: "Proposal",
      body: { proposalId: made.proposalId, demandId: made.demandId, spec: offer, expiresAt: made.expiresAt },
    };
  }

  #onMarket(msg: AnyInbound): AnyOutgoing {
    switch (msg.envelope.type) {
      case "AgreementProposal":
        return this.#onAgreementProposal(msg.envelope.from, msg.envelope.body);
      case "AgreementTerminated": {
        const { agreementId, reason, message } = msg.envelope.body;
        const record = this.#o.agreements.get(agreementId);
        if (!record || record.agreement.requestorId !== msg.envelope.from)
          throw new ProtocolError(`no agreement ${agreementId} with you`);
        if (this.#o.agreements.terminate(record, reason, message)) {
          this.#o.logger.info({ agreementId, reason }, "agreement terminated by the requestor");
          void this.#o
            .onTerminated(record)
            .catch((err: unknown) =>
              this.#o.logger.warn({ err, agreementId }, "freeing the agreement's activities failed"),
            );
        }
        return { type: "Ack", body: {} };
      }
      default:
        throw new ProtocolError(`unexpected ${msg.envelope.type} on the market subject`);
    }
  }

  #onAgreementProposal(from: NodeId, body: MessageBody<"AgreementProposal">): AnyOutgoing {
    const { node, negotiator, agreements, logger } = this.#o;
    const now = node.clock.now();
    if (agreements.get(body.agreementId))
      return reject(body.agreementId, `agreement ${body.agreementId} already exists`);
    const made = this.#proposals.get(body.proposalId);
    const verdict = negotiator.reviewAgreement(from, node.nodeId, body, made, agreements.active, now);
    if (!verdict.ok) {
      logger.info({ agreementId: body.agreementId, reason: verdict.reason }, "agreement rejected");
      return reject(body.agreementId, verdict.reason);
    }
    this.#proposals.delete(body.proposalId);
    const doc = agreementDocument(body);
    const signed: SignedAgreement = {
      ...doc,
      requestorSignature: body.requestorSignature ?? "",
      providerSignature: signAgreement(node.identity, doc),
      approvedAt: now,
    };
    agreements.add(signed);
    agreements.prune();
    logger.info({ agreementId: body.agreementId, requestorId: from.slice(0, 8) }, "agreement approved");
    return {
      type: "AgreementApproved",
      body: { agreementId: body.agreementId, approvedAt: now, providerSignature: signed.providerSignature },
    };
  }

  #prune(now: number): void {
    for (const [id, p] of this.#proposals) if (p.expiresAt <= now) this.#proposals.delete(id);
    while (this.#proposals.size >= MAX_PROPOSALS) {
      const oldest = this.#proposals.keys().next();
      if (oldest.done) break;
      this.#proposals.delete(oldest.value);
    }
  }
}

function reject(agreementId: string, reason: string): AnyOutgoing {
  return { type: "AgreementRejected", body: { agreementId, reason: reason.slice(0, 1024) } };
}
