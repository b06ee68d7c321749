/** Payment messages: debit notes, invoices, their acceptance and the payment (DESIGN §10). */
import { z } from "zod";
import { amountSchema, epochMsSchema, idSchema, nodeIdSchema, shortText } from "./schema-common.js";

const billedDocument = z.enum(["DebitNote", "Invoice"]);

export const paymentSchemas = {
  /** The running total of an agreement, sent every interval. */
  DebitNote: z.object({
    debitNoteId: idSchema,
    agreementId: idSchema,
    activityId: idSchema.optional(),
    totalAmount: amountSchema,
    /** Usage in the order of `agora.com.usage.vector`. */
    usage: z.array(z.number().nonnegative()).max(32),
    issuedAt: epochMsSchema,
    paymentDueAt: epochMsSchema.optional(),
  }),
  Invoice: z.object({
    invoiceId: idSchema,
    agreementId: idSchema,
    amount: amountSchema,
    issuedAt: epochMsSchema,
    paymentDueAt: epochMsSchema,
  }),
  Acceptance: z.object({
    document: billedDocument,
    documentId: idSchema,
    agreementId: idSchema,
    acceptedAmount: amountSchema,
  }),
  Rejection: z.object({
    document: billedDocument,
    documentId: idSchema,
    agreementId: idSchema,
    reason: shortText,
  }),
  Payment: z.object({
    paymentId: idSchema,
    agreementId: idSchema,
    invoiceId: idSchema.optional(),
    amount: amountSchema,
    payer: nodeIdSchema,
    payee: nodeIdSchema,
    driver: z.literal("ledger"),
    paidAt: epochMsSchema,
  }),
} as const;
