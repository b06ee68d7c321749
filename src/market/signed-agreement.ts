/**
 * Agreement signatures (DESIGN §5): both sides sign the same canonical bytes of the terms — both
 * node ids, the demand and offer (properties and constraints, which carry the prices), the
 * expiration — so either party can show a third party what was agreed.
 */
import {
  canonicalBytes,
  canonicalJson,
  verifySignature,
  type NodeId,
  type MessageBody,
  type NodeIdentity,
} from "../protocol/index.js";
import { specToWire, type MarketSpec, type SpecWire } from "./spec.js";

/** Domain separation: these bytes are never a valid envelope or any other signed document. */
const CONTEXT = "agora.agreement.v1";

/** What both sides sign. */
export interface AgreementDocument {
  readonly agreementId: string;
  readonly demandId: string;
  readonly proposalId: string;
  readonly requestorId: NodeId;
  readonly providerId: NodeId;
  readonly demand: SpecWire;
  readonly offer: SpecWire;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** An agreement with both signatures (base64url Ed25519). */
export interface SignedAgreement extends AgreementDocument {
  readonly requestorSignature: string;
  readonly providerSignature: string;
  /** When the provider approved, epoch ms. */
  readonly approvedAt: number;
}

/** The fields of the document only (drops signatures and anything else a body carries). */
export function agreementDocument(doc: AgreementDocument): AgreementDocument {
  return {
    agreementId: doc.agreementId,
    demandId: doc.demandId,
    proposalId: doc.proposalId,
    requestorId: doc.requestorId,
    providerId: doc.providerId,
    demand: { properties: doc.demand.properties, constraints: doc.demand.constraints },
    offer: { properties: doc.offer.properties, constraints: doc.offer.constraints },
    expiresAt: doc.expiresAt,
  };
}

function bytes(doc: AgreementDocument): Uint8Array {
  return canonicalBytes({ context: CONTEXT, terms: agreementDocument(doc) });
}

/** Sign the terms as `identity` (base64url). */
export function signAgreement(identity: NodeIdentity, doc: AgreementDocument): string {
  return Buffer.from(identity.sign(bytes(doc))).toString("base64url");
}

/** True when `signature` is `signer`'s signature over these terms. */
export function verifyAgreementSignature(doc: AgreementDocument, signer: NodeId, signature: string): boolean {
  return verifySignature(signer, bytes(doc), Buffer.from(signature, "base64url"));
}

/** Why a signed agreement does not verify, or `undefined` when both signatures hold. */
export function checkSignedAgreement(agreement: SignedAgreement): string | undefined {
  if (!verifyAgreementSignature(agreement, agreement.requestorId, agreement.requestorSignature))
    return "the requestor's signature does not match the terms";
  if (!verifyAgreementSignature(agreement, agreement.providerId, agreement.providerSignature))
    return "the provider's signature does not match the terms";
  return undefined;
}

/** A spec's canonical text (to compare two specs exactly). */
export function canonicalSpec(spec: SpecWire): string {
  return canonicalJson({ properties: spec.properties, constraints: spec.constraints });
}

/** A spec as a message body field (the protocol's mutable shape; the values are not copied). */
export type SpecBody = MessageBody<"Proposal">["spec"];

/** A demand or offer (parsed or wire) as a message body field. */
export function specBody(spec: MarketSpec | SpecWire): SpecBody {
  const wire = typeof spec.constraints === "string" ? (spec as SpecWire) : specToWire(spec as MarketSpec);
  return wire as SpecBody;
}
