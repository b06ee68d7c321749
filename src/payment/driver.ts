/**
 * Payment drivers (DESIGN §10): how an accepted invoice is settled. The `ledger` driver moves no
 * real money: a payment is the (signed) message itself, recorded in both sides' ledgers. Other
 * drivers (a chain, a bank) can implement the same interface later.
 */
import { randomUUID } from "node:crypto";
import type { Decimal } from "decimal.js";
import { AbortError, PaymentError } from "../errors.js";
import type { Ledger } from "./ledger.js";
import type { PaymentRecord } from "./ledger-index.js";
import { formatAmount, parseAmount } from "./money.js";
import type { Payment } from "./payment.js";

/** An accepted invoice to settle (requestor side) or that a payment must settle (provider side). */
export interface PaymentOrder {
  readonly agreementId: string;
  readonly invoiceId: string;
  /** Requestor node id. */
  readonly payer: string;
  /** Provider node id. */
  readonly payee: string;
  readonly amount: Decimal;
}

export interface PaymentDriver {
  readonly name: string;
  /**
   * Requestor side: settle an accepted invoice. Idempotent per invoice: paying it again returns
   * the first payment.
   */
  pay(order: PaymentOrder, options?: { readonly signal?: AbortSignal }): Promise<Payment>;
  /**
   * Provider side: check that `payment` settles `expected` and record it. Idempotent.
   * @throws PaymentError if it does not settle that invoice.
   */
  receive(payment: Payment, expected: PaymentOrder): Promise<void>;
}

export interface LedgerPaymentDriverOptions {
  readonly ledger: Ledger;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
  /** @default Date.now */
  readonly now?: () => number;
}

export const LEDGER_DRIVER = "ledger";

/** The default driver: no chain, both sides' ledgers are the record. */
export class LedgerPaymentDriver implements PaymentDriver {
  readonly name = LEDGER_DRIVER;
  readonly ledger: Ledger;
  readonly #newId: () => string;
  readonly #now: () => number;
  readonly #paying = new Map<string, Promise<Payment>>();

  constructor(options: LedgerPaymentDriverOptions) {
    this.ledger = options.ledger;
    this.#newId = options.newId ?? randomUUID;
    this.#now = options.now ?? Date.now;
  }

  pay(order: PaymentOrder, options: { readonly signal?: AbortSignal } = {}): Promise<Payment> {
    if (options.signal?.aborted) {
      return Promise.reject(new AbortError(`payment of invoice ${order.invoiceId} was aborted`));
    }
    const pending = this.#paying.get(order.invoiceId);
    if (pending) return pending;
    const run = this.#pay(order).finally(() => this.#paying.delete(order.invoiceId));
    this.#paying.set(order.invoiceId, run);
    return run;
  }

  async receive(payment: Payment, expected: PaymentOrder): Promise<void> {
    const mismatch = describeMismatch(payment, expected, this.name);
    if (mismatch) {
      throw new PaymentError(
        `payment ${payment.paymentId} does not settle invoice ${expected.invoiceId}: ${mismatch}`,
        {
          agreementId: expected.agreementId,
        },
      );
    }
    await this.#recordInvoice(expected, payment.paidAt);
    await this.ledger.append(paymentRecord(payment));
  }

  async #pay(order: PaymentOrder): Promise<Payment> {
    const earlier = this.ledger.index.paymentFor(order.invoiceId);
    if (earlier) return fromRecord(earlier);
    const now = this.#now();
    const payment: Payment = { paymentId: this.#newId(), ...order, driver: this.name, paidAt: now };
    await this.#recordInvoice(order, now);
    await this.ledger.append(paymentRecord(payment));
    return payment;
  }

  /** Record the accepted invoice unless it already is (a retry after a crash between two appends). */
  async #recordInvoice(order: PaymentOrder, ts: number): Promise<void> {
    if (!this.ledger.index.invoice(order.invoiceId)) await this.ledger.append(invoiceRecord(order, ts));
  }
}

function describeMismatch(p: Payment, e: PaymentOrder, driver: string): string | undefined {
  if (p.driver !== driver) return `driver ${p.driver}, expected ${driver}`;
  if (p.invoiceId !== e.invoiceId) return `it pays invoice ${p.invoiceId}`;
  if (p.agreementId !== e.agreementId) return `it is for agreement ${p.agreementId}`;
  if (p.payer !== e.payer) return `payer ${p.payer}, expected ${e.payer}`;
  if (p.payee !== e.payee) return `payee ${p.payee}, expected ${e.payee}`;
  if (!p.amount.equals(e.amount))
    return `amount ${formatAmount(p.amount)}, expected ${formatAmount(e.amount)}`;
  return undefined;
}

function invoiceRecord(o: PaymentOrder, ts: number) {
  return {
    kind: "invoice" as const,
    invoiceId: o.invoiceId,
    agreementId: o.agreementId,
    payer: o.payer,
    payee: o.payee,
    amount: formatAmount(o.amount),
    ts,
  };
}

function paymentRecord(p: Payment): PaymentRecord {
  return { kind: "payment", ...p, amount: formatAmount(p.amount) };
}

function fromRecord(r: PaymentRecord): Payment {
  const { kind: _kind, ...rest } = r;
  return { ...rest, amount: parseAmount(r.amount) };
}
