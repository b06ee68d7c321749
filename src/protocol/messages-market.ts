/** Market messages: demands, proposals, agreements (DESIGN §5). */
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
  AgreementProposal: z.object({
    agreementId: idSchema,
    demandId: idSchema,
    proposalId: idSchema,
    requestorId: nodeIdSchema,
    providerId: nodeIdSchema,
    demand: specSchema,
    offer: specSchema,
    expiresAt: epochMsSchema,
  }),
  AgreementApproved: z.object({ agreementId: idSchema, approvedAt: epochMsSchema }),
  AgreementRejected: z.object({ agreementId: idSchema, reason: shortText }),
  AgreementTerminated: z.object({
    agreementId: idSchema,
    reason: z.enum(terminationReasons),
    message: shortText.optional(),
  }),
} as const;
