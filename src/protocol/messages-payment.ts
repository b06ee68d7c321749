/**
 * Payment messages: debit notes, invoices, their acceptance and the payment (DESIGN §10). The
 * bodies are exactly `payment/`'s wire shapes (`debitNoteWireSchema`, `invoiceWireSchema`,
 * `paymentWireSchema`), plus the payment due date the protocol adds; a unit test keeps them equal.
 */
import { z } from "zod";
import { amountSchema, epochMsSchema, idSchema, nodeIdSchema, shortText } from "./schema-common.js";

const billedDocument = z.enum(["DebitNote", "Invoice"]);

/** Cumulative usage per counter, as decimal strings (the counters of DESIGN §5). */
const usageSchema = z.strictObject({
  "agora.usage.duration_sec": amountSchema,
  "agora.usage.cpu_sec": amountSchema,
});

export const paymentSchemas = {
  /** An activity's cumulative usage and amount due so far, numbered 1, 2, … per activity. */
  DebitNote: z.strictObject({
    debitNoteId: idSchema,
    agreementId: idSchema,
    activityId: idSchema,
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    usage: usageSchema,
    totalAmount: amountSchema,
    issuedAt: epochMsSchema,
    paymentDueAt: epochMsSchema.optional(),
  }),
  /** Closes an agreement: each activity's final usage and amount, and the total. */
  Invoice: z.strictObject({
    invoiceId: idSchema,
    agreementId: idSchema,
    items: z
      .array(z.strictObject({ activityId: idSchema, usage: usageSchema, amount: amountSchema }))
      .max(10_000),
    amount: amountSchema,
    issuedAt: epochMsSchema,
    paymentDueAt: epochMsSchema.optional(),
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
  Payment: z.strictObject({
    paymentId: idSchema,
    agreementId: idSchema,
    invoiceId: idSchema,
    amount: amountSchema,
    payer: nodeIdSchema,
    payee: nodeIdSchema,
    driver: z.string().min(1).max(64),
    paidAt: epochMsSchema,
  }),
} as const;
