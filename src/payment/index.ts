/** Payments (DESIGN §10): money, linear pricing, budget, debit notes, invoices, acceptance, ledgers. */
export {
  formatAmount,
  isAmount,
  MAX_AMOUNT_LENGTH,
  money,
  parseAmount,
  sumAmounts,
  ZERO,
  type Decimal,
  type MoneyInput,
} from "./money.js";
export {
  isUsageCounter,
  usage,
  USAGE_COUNTERS,
  USAGE_CPU_SEC,
  USAGE_DURATION_SEC,
  usageFromSeconds,
  usageFromWire,
  usageToWire,
  usageValue,
  ZERO_USAGE,
  type Usage,
  type UsageCounter,
  type UsageWire,
} from "./usage.js";
export {
  LinearPricing,
  PROP_LINEAR_COEFFS,
  PROP_PRICING_MODEL,
  PROP_USAGE_VECTOR,
  type LinearPricingInput,
  type LinearPricingProperties,
} from "./pricing.js";
export { Allocation, Reservation, type AllocationSnapshot, type ReservationLabel } from "./allocation.js";
export {
  debitNoteFromWire,
  debitNoteToWire,
  debitNoteWireSchema,
  invoiceFromWire,
  invoiceItemsTotal,
  invoiceToWire,
  invoiceWireSchema,
  type DebitNote,
  type DebitNoteWire,
  type Invoice,
  type InvoiceItem,
  type InvoiceWire,
} from "./debit-note.js";
export { AgreementBilling, type AgreementBillingOptions } from "./billing.js";
export {
  resolveTolerance,
  reviewDebitNote,
  reviewInvoice,
  type AcceptedNote,
  type AgreedTerms,
  type DebitNoteReview,
  type Decision,
  type InvoiceReview,
  type Tolerance,
  type ToleranceOptions,
} from "./acceptance.js";
export { AcceptancePolicy, type AcceptancePolicyOptions } from "./acceptance-policy.js";
export {
  paymentFromWire,
  paymentToWire,
  paymentWireSchema,
  type Payment,
  type PaymentWire,
} from "./payment.js";
export {
  LedgerIndex,
  ledgerRecordSchema,
  type InvoiceRecord,
  type LedgerCheck,
  type LedgerRecord,
  type PaymentRecord,
} from "./ledger-index.js";
export { Ledger, type LedgerOptions } from "./ledger.js";
export {
  LEDGER_DRIVER,
  LedgerPaymentDriver,
  type LedgerPaymentDriverOptions,
  type PaymentDriver,
  type PaymentOrder,
} from "./driver.js";
export { paymentSubject } from "./subjects.js";
