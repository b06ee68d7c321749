/**
 * Debit notes and invoices (DESIGN §10). A debit note carries an activity's *cumulative* usage
 * and amount due so far, numbered 1, 2, … per activity; the invoice closes an agreement with
 * each activity's final usage and the total.
 */
import type { Decimal } from "decimal.js";
import { z } from "zod";
import { PaymentError } from "../errors.js";
import { amountSchema, idSchema } from "../protocol/index.js";
import { formatAmount, parseAmount, sumAmounts } from "./money.js";
import { USAGE_CPU_SEC, USAGE_DURATION_SEC, usageFromWire, usageToWire, type Usage } from "./usage.js";

export interface DebitNote {
  readonly debitNoteId: string;
  readonly agreementId: string;
  readonly activityId: string;
  /** 1 for the first note of the activity, then +1 each note. */
  readonly sequence: number;
  /** Usage since the activity started (cumulative). */
  readonly usage: Usage;
  /** Amount due for the activity so far (cumulative): the agreed price of `usage`. */
  readonly totalAmount: Decimal;
  /** When the provider issued it (epoch ms). */
  readonly issuedAt: number;
}

export interface InvoiceItem {
  readonly activityId: string;
  /** The activity's final usage. */
  readonly usage: Usage;
  /** The agreed price of that usage. */
  readonly amount: Decimal;
}

export interface Invoice {
  readonly invoiceId: string;
  readonly agreementId: string;
  readonly items: readonly InvoiceItem[];
  /** The sum of the items. */
  readonly amount: Decimal;
  readonly issuedAt: number;
}

const usageWireSchema = z.strictObject({
  [USAGE_DURATION_SEC]: amountSchema,
  [USAGE_CPU_SEC]: amountSchema,
});

/** Zod schema of a debit note on the wire (amounts as decimal strings). */
export const debitNoteWireSchema = z.strictObject({
  debitNoteId: idSchema,
  agreementId: idSchema,
  activityId: idSchema,
  sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  usage: usageWireSchema,
  totalAmount: amountSchema,
  issuedAt: z.number().int().nonnegative(),
});
export type DebitNoteWire = z.infer<typeof debitNoteWireSchema>;

/** Zod schema of an invoice on the wire. */
export const invoiceWireSchema = z.strictObject({
  invoiceId: idSchema,
  agreementId: idSchema,
  items: z
    .array(z.strictObject({ activityId: idSchema, usage: usageWireSchema, amount: amountSchema }))
    .max(10_000),
  amount: amountSchema,
  issuedAt: z.number().int().nonnegative(),
});
export type InvoiceWire = z.infer<typeof invoiceWireSchema>;

export function debitNoteToWire(note: DebitNote): DebitNoteWire {
  return { ...note, usage: usageToWire(note.usage), totalAmount: formatAmount(note.totalAmount) };
}

/** Parse a debit note received from the wire. @throws PaymentError describing what is wrong. */
export function debitNoteFromWire(input: unknown): DebitNote {
  const w = parseWire(debitNoteWireSchema, input, "debit note");
  return { ...w, usage: usageFromWire(w.usage), totalAmount: parseAmount(w.totalAmount) };
}

export function invoiceToWire(invoice: Invoice): InvoiceWire {
  return {
    ...invoice,
    items: invoice.items.map((i) => ({ ...i, usage: usageToWire(i.usage), amount: formatAmount(i.amount) })),
    amount: formatAmount(invoice.amount),
  };
}

/** Parse an invoice received from the wire. @throws PaymentError describing what is wrong. */
export function invoiceFromWire(input: unknown): Invoice {
  const w = parseWire(invoiceWireSchema, input, "invoice");
  return {
    ...w,
    items: w.items.map((i) => ({ ...i, usage: usageFromWire(i.usage), amount: parseAmount(i.amount) })),
    amount: parseAmount(w.amount),
  };
}

/** The sum of an invoice's item amounts. */
export function invoiceItemsTotal(items: readonly InvoiceItem[]): Decimal {
  return sumAmounts(items.map((i) => i.amount));
}

function parseWire<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new PaymentError(`invalid ${what}: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  return r.data;
}
