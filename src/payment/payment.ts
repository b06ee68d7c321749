/**
 * A payment of an accepted invoice (DESIGN §10). The protocol layer signs it as a message body;
 * both sides record it in their `Ledger`.
 */
import type { Decimal } from "decimal.js";
import { z } from "zod";
import { PaymentError } from "../errors.js";
import { amountSchema, idSchema } from "../protocol/index.js";
import { formatAmount, parseAmount } from "./money.js";

export interface Payment {
  readonly paymentId: string;
  readonly agreementId: string;
  readonly invoiceId: string;
  /** Requestor node id. */
  readonly payer: string;
  /** Provider node id. */
  readonly payee: string;
  readonly amount: Decimal;
  /** The payment driver that settled it, e.g. `ledger`. */
  readonly driver: string;
  /** Epoch ms. */
  readonly paidAt: number;
}

export const paymentWireSchema = z.strictObject({
  paymentId: idSchema,
  agreementId: idSchema,
  invoiceId: idSchema,
  payer: idSchema,
  payee: idSchema,
  amount: amountSchema,
  driver: z.string().min(1).max(64),
  paidAt: z.number().int().nonnegative(),
});
export type PaymentWire = z.infer<typeof paymentWireSchema>;

export function paymentToWire(p: Payment): PaymentWire {
  return { ...p, amount: formatAmount(p.amount) };
}

/** Parse a payment received from the wire. @throws PaymentError describing what is wrong. */
export function paymentFromWire(input: unknown): Payment {
  const r = paymentWireSchema.safeParse(input);
  if (!r.success) throw new PaymentError(`invalid payment: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  return { ...r.data, amount: parseAmount(r.data.amount) };
}
