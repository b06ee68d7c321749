/**
 * The provider's negotiator rules (DESIGN §5, §8): answer a demand with a proposal or a reason, and
 * approve an agreement proposal or reject it with a reason. Pure: the caller passes the state
 * (agreements in force, the proposal it made) and the time.
 */
import {
  agreementDocument,
  agreementTerms,
  canonicalSpec,
  demandFromWire,
  matches,
  numberProperty,
  OfferBuilder,
  PROP,
  stringProperty,
  verifyAgreementSignature,
  type Demand,
  type Offer,
  type SpecWire,
} from "../market/index.js";
import { LinearPricing } from "../payment/index.js";
import type { MessageBody, NodeId } from "../protocol/index.js";
import type { Preset } from "./preset.js";

/** A refusal with a reason the requestor can read. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: Verdict = { ok: true };
const no = (reason: string): Verdict => ({ ok: false, reason });

/** A proposal this provider made, remembered until it expires. */
export interface MadeProposal {
  readonly proposalId: string;
  readonly demandId: string;
  readonly requestorId: NodeId;
  readonly demand: SpecWire;
  readonly offer: SpecWire;
  readonly expiresAt: number;
}

/** Build the provider's offer from a preset whose resources are already capped. */
export function offerFromPreset(preset: Preset, nodeName = preset.name): Offer {
  const pricing = new LinearPricing(preset.pricing);
  return new OfferBuilder()
    .nodeName(nodeName)
    .subnet(preset.subnet)
    .runtime("docker")
    .resources(preset.resources)
    .pricing(pricing)
    .debitNotes({
      intervalSec: preset.limits.debitNoteIntervalSec.default,
      acceptTimeoutSec: preset.limits.paymentAcceptTimeoutSec.default,
    })
    .require(`(${PROP.taskPackage}=docker:*)`)
    .build();
}

export class Negotiator {
  readonly offer: Offer;
  readonly #limits: Preset["limits"];
  readonly #subnet: string;

  constructor(preset: Preset, offer: Offer) {
    this.offer = offer;
    this.#limits = preset.limits;
    this.#subnet = preset.subnet;
  }

  /** Requestor allow/deny lists. */
  reviewRequestor(requestorId: NodeId): Verdict {
    const { allowRequestors, denyRequestors } = this.#limits;
    if (denyRequestors.includes(requestorId)) return no("the requestor is on this provider's deny list");
    if (allowRequestors.length > 0 && !allowRequestors.includes(requestorId))
      return no("the requestor is not on this provider's allow list");
    return OK;
  }

  /** Should this demand get a proposal? `active` = agreements in force now. */
  reviewDemand(requestorId: NodeId, body: MessageBody<"Demand">, active: number, now: number): Verdict {
    const who = this.reviewRequestor(requestorId);
    if (!who.ok) return who;
    if (body.subnet !== this.#subnet)
      return no(`this provider serves subnet ${this.#subnet}, not ${body.subnet}`);
    if (body.expiresAt <= now) return no("the demand has expired");
    if (active >= this.#limits.maxAgreements)
      return no(`at capacity: ${active} of ${this.#limits.maxAgreements} agreements in force`);
    let demand: Demand;
    try {
      demand = demandFromWire(body.spec);
    } catch (err) {
      return no(`the demand does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
    const m = matches(demand, this.offer);
    if (!m.ok) return no(m.reason);
    return this.#reviewTerms(demand, now);
  }

  /** The demand's own terms: expiration (agreement duration) and debit-note negotiation. */
  #reviewTerms(demand: Demand, now: number): Verdict {
    const expiration = numberProperty(demand.properties, PROP.expiration);
    if (expiration !== undefined) {
      const durationSec = (expiration - now) / 1000;
      if (durationSec <= 0) return no("the demand's expiration has passed");
      if (durationSec > this.#limits.maxAgreementDurationSec)
        return no(
          `duration too long: ${Math.ceil(durationSec)} s asked, at most ${this.#limits.maxAgreementDurationSec} s`,
        );
    }
    for (const [key, b, what] of [
      [PROP.debitNoteIntervalSec, this.#limits.debitNoteIntervalSec, "debit-note interval"],
      [PROP.paymentAcceptTimeoutSec, this.#limits.paymentAcceptTimeoutSec, "payment accept timeout"],
    ] as const) {
      const v = numberProperty(demand.properties, key);
      if (v !== undefined && (v < b.min || v > b.max))
        return no(`${what} of ${v} s is outside ${b.min}..${b.max} s`);
    }
    if (stringProperty(demand.properties, PROP.taskPackage) === undefined)
      return no(`the demand names no ${PROP.taskPackage}`);
    return OK;
  }

  /**
   * Approve an agreement proposal? It must answer a proposal this provider made to this requestor
   * (same demand, same offer), be signed by the requestor, fit the limits and not have expired.
   */
  reviewAgreement(
    from: NodeId,
    self: NodeId,
    body: MessageBody<"AgreementProposal">,
    made: MadeProposal | undefined,
    active: number,
    now: number,
  ): Verdict {
    if (body.requestorId !== from) return no("the agreement names another requestor than its sender");
    if (body.providerId !== self) return no("the agreement names another provider");
    const who = this.reviewRequestor(from);
    if (!who.ok) return who;
    if (!made || made.requestorId !== from || made.demandId !== body.demandId)
      return no(`unknown offer: no proposal ${body.proposalId} was made to you for demand ${body.demandId}`);
    if (made.expiresAt <= now) return no(`proposal ${body.proposalId} has expired`);
    if (canonicalSpec(made.offer) !== canonicalSpec(body.offer))
      return no("the agreement's offer differs from the proposal made");
    if (canonicalSpec(made.demand) !== canonicalSpec(body.demand))
      return no("the agreement's demand differs from the demand answered");
    if (body.requestorSignature === undefined) return no("the agreement is not signed by the requestor");
    if (!verifyAgreementSignature(agreementDocument(body), from, body.requestorSignature))
      return no("the requestor's signature does not match the agreement terms");
    if (body.expiresAt <= now) return no("the agreement has expired");
    const durationSec = (body.expiresAt - now) / 1000;
    if (durationSec > this.#limits.maxAgreementDurationSec)
      return no(
        `duration too long: ${Math.ceil(durationSec)} s asked, at most ${this.#limits.maxAgreementDurationSec} s`,
      );
    if (active >= this.#limits.maxAgreements)
      return no(`at capacity: ${active} of ${this.#limits.maxAgreements} agreements in force`);
    try {
      agreementTerms({
        agreementId: body.agreementId,
        requestorId: from,
        providerId: self,
        demand: demandFromWire(body.demand),
        offer: this.offer,
        expiresAt: body.expiresAt,
        now,
      });
    } catch (err) {
      return no(err instanceof Error ? err.message : String(err));
    }
    return OK;
  }
}
