/** Market messages: demands, proposals, offers, agreements (DESIGN §5). */
import { z } from "zod";
import { epochMsSchema, idSchema, nodeIdSchema, shortText, specSchema } from "./schema-common.js";

export const terminationReasons = [
  "Success",
  "Cancelled",
  "Expired",
  "NoActivity",
  "DebitNoteRejected",
  "DebitNotesDeadline",
  "RequestorUnreachable",
  "ProviderUnreachable",
  "Shutdown",
] as const;
export type TerminationReason = (typeof terminationReasons)[number];

/** A detached Ed25519 signature (base64url, 64 bytes) over an agreement's canonical terms. */
export const signatureSchema = z.string().regex(/^[A-Za-z0-9_-]{86}$/, "not a base64url Ed25519 signature");

export const marketSchemas = {
  /** Requestor broadcast on `agora.<subnet>.demand`; matching providers answer with a Proposal. */
  Demand: z.object({
    demandId: idSchema,
    subnet: idSchema,
    spec: specSchema,
    expiresAt: epochMsSchema,
  }),
  Proposal: z.object({
    proposalId: idSchema,
    demandId: idSchema,
    spec: specSchema,
    expiresAt: epochMsSchema,
  }),
  /** A provider's answer to a demand it will not serve, with the reason (for the requestor's logs). */
  DemandRejected: z.object({ demandId: idSchema, reason: shortText }),
  /** Provider broadcast on `agora.<subnet>.offers`, repeated while it runs (`agora market scan`). */
  OfferAnnouncement: z.object({
    subnet: idSchema,
    spec: specSchema,
    /** The announcement is stale after this (epoch ms). */
    expiresAt: epochMsSchema,
  }),
  /**
   * The requestor proposes the terms; `requestorSignature` is its signature over the canonical
   * terms (every field but the signature), so the agreement can be shown to a third party.
   * Optional in the schema (older bodies); Agora's provider agent refuses a proposal without it.
   */
  AgreementProposal: z.object({
    agreementId: idSchema,
    demandId: idSchema,
    proposalId: idSchema,
    requestorId: nodeIdSchema,
    providerId: nodeIdSchema,
    demand: specSchema,
    offer: specSchema,
    expiresAt: epochMsSchema,
    requestorSignature: signatureSchema.optional(),
  }),
  /**
   * The provider approves: `providerSignature` is its signature over the same canonical terms.
   * Optional in the schema for bodies that only acknowledge; Agora's provider agent always sends
   * it and Agora's requestor refuses an approval without it.
   */
  AgreementApproved: z.object({
    agreementId: idSchema,
    approvedAt: epochMsSchema,
    providerSignature: signatureSchema.optional(),
  }),
  AgreementRejected: z.object({ agreementId: idSchema, reason: shortText }),
  AgreementTerminated: z.object({
    agreementId: idSchema,
    reason: z.enum(terminationReasons),
    message: shortText.optional(),
  }),
} as const;
