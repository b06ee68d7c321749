/**
 * Money (DESIGN §10): amounts are `Decimal` (decimal.js), never `number`; on the wire they are
 * plain decimal strings such as `"0.000123"`.
 */
import { Decimal } from "decimal.js";
import { PaymentError } from "../errors.js";

export type { Decimal };

/**
 * The Decimal constructor every amount goes through: 40 significant digits (far more than any
 * amount needs, so sums and products of wire amounts stay exact) and banker's rounding.
 */
const Money = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -40,
  toExpPos: 40,
});

/** What money helpers accept: a decimal string or an existing `Decimal` (never a `number`). */
export type MoneyInput = string | Decimal;

/** The longest decimal string accepted from the wire or from a user. */
export const MAX_AMOUNT_LENGTH = 64;

const AMOUNT_RE = /^[0-9]+(\.[0-9]+)?$/;

/** Zero, as a Decimal with the money configuration. */
export const ZERO: Decimal = new Money(0);

/**
 * Parse a non-negative decimal amount. Accepts a plain decimal string (`"12"`, `"0.5"`, no sign,
 * no exponent, no spaces) or a finite, non-negative `Decimal`.
 *
 * @param what names the amount in the error message (`"budget"`, `"totalAmount"`).
 * @throws PaymentError naming `what` and the bad input.
 */
export function parseAmount(input: unknown, what = "amount"): Decimal {
  if (Decimal.isDecimal(input)) {
    const d = new Money(input);
    if (!d.isFinite() || d.isNegative()) {
      throw new PaymentError(`invalid ${what}: ${d.toString()} (expected a finite, non-negative amount)`);
    }
    return d;
  }
  if (typeof input !== "string") {
    const shown =
      typeof input === "number" ? `the number ${String(input)}` : `a value of type ${typeName(input)}`;
    throw new PaymentError(`invalid ${what}: got ${shown} (expected a decimal string like "0.25")`);
  }
  if (input.length > MAX_AMOUNT_LENGTH) {
    throw new PaymentError(`invalid ${what}: ${input.length} characters (at most ${MAX_AMOUNT_LENGTH})`);
  }
  if (!AMOUNT_RE.test(input)) {
    throw new PaymentError(
      `invalid ${what}: ${JSON.stringify(input)} (expected a non-negative decimal string like "0.25")`,
    );
  }
  return new Money(input);
}

/** True when `input` is something `parseAmount` accepts. */
export function isAmount(input: unknown): boolean {
  try {
    parseAmount(input);
    return true;
  } catch {
    return false;
  }
}

/** Convert an already-trusted Decimal (or decimal string) to the money configuration. */
export function money(value: MoneyInput): Decimal {
  return typeof value === "string" ? parseAmount(value) : new Money(value);
}

/** The wire form of an amount: plain decimal notation, no exponent, no trailing zeros. */
export function formatAmount(amount: Decimal): string {
  return new Money(amount).toFixed();
}

/** The sum of amounts (zero for none). */
export function sumAmounts(amounts: Iterable<Decimal>): Decimal {
  let total = ZERO;
  for (const a of amounts) total = total.plus(a);
  return total;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}
