/**
 * Linear pricing (DESIGN §10): `cost = start + Σ coeffᵢ · usageᵢ`, carried in offer properties as
 * `agora.com.pricing.model=linear`, `agora.com.usage.vector=[…counters]` and
 * `agora.com.pricing.model.linear.coeffs=[coeff per counter…, start]`.
 */
import { Decimal } from "decimal.js";
import { PaymentError } from "../errors.js";
import { formatAmount, parseAmount, type MoneyInput } from "./money.js";
import {
  isUsageCounter,
  USAGE_COUNTERS,
  USAGE_CPU_SEC,
  USAGE_DURATION_SEC,
  type Usage,
  type UsageCounter,
} from "./usage.js";

export const PROP_PRICING_MODEL = "agora.com.pricing.model";
export const PROP_USAGE_VECTOR = "agora.com.usage.vector";
export const PROP_LINEAR_COEFFS = "agora.com.pricing.model.linear.coeffs";

const SECONDS_PER_HOUR = 3600;

/** Prices of a linear model, as decimal strings or Decimals. */
export interface LinearPricingInput {
  /** Charged once per activity. */
  readonly start: MoneyInput;
  /** Per wall-clock second of an activity. */
  readonly perDurationSec: MoneyInput;
  /** Per CPU second of an activity. */
  readonly perCpuSec: MoneyInput;
  /**
   * Order of the counters in the coefficient list.
   * @default ["agora.usage.duration_sec", "agora.usage.cpu_sec"]
   */
  readonly usageVector?: readonly UsageCounter[];
}

/** The pricing properties of an offer (all strings, so amounts stay exact on the wire). */
export type LinearPricingProperties = {
  readonly [PROP_PRICING_MODEL]: "linear";
  readonly [PROP_USAGE_VECTOR]: string[];
  readonly [PROP_LINEAR_COEFFS]: string[];
};

/** An immutable linear price list. */
export class LinearPricing {
  readonly start: Decimal;
  readonly perDurationSec: Decimal;
  readonly perCpuSec: Decimal;
  readonly usageVector: readonly UsageCounter[];

  constructor(input: LinearPricingInput) {
    this.start = parseAmount(input.start, "start price");
    this.perDurationSec = parseAmount(input.perDurationSec, "price per duration second");
    this.perCpuSec = parseAmount(input.perCpuSec, "price per CPU second");
    const vector = input.usageVector ?? USAGE_COUNTERS;
    if (vector.length !== 2 || new Set(vector).size !== 2 || !vector.every(isUsageCounter)) {
      throw new PaymentError(
        `invalid usage vector ${JSON.stringify(vector)}: expected both usage counters once`,
      );
    }
    this.usageVector = Object.freeze([...vector]);
  }

  /** Price of one hour of wall-clock time (what `maxEnvPerHourPrice` caps). */
  get envPerHour(): Decimal {
    return this.perDurationSec.times(SECONDS_PER_HOUR);
  }

  /** Price of one hour of CPU time (what `maxCpuPerHourPrice` caps). */
  get cpuPerHour(): Decimal {
    return this.perCpuSec.times(SECONDS_PER_HOUR);
  }

  /** The coefficient of one counter. */
  coeff(counter: UsageCounter): Decimal {
    return counter === USAGE_DURATION_SEC ? this.perDurationSec : this.perCpuSec;
  }

  /** `start + perDurationSec · durationSec + perCpuSec · cpuSec`, exact. */
  cost(usage: Usage): Decimal {
    return this.start
      .plus(this.perDurationSec.times(usage.durationSec))
      .plus(this.perCpuSec.times(usage.cpuSec));
  }

  /** True when both price lists charge the same for every usage. */
  equals(other: LinearPricing): boolean {
    return (
      this.start.equals(other.start) &&
      this.perDurationSec.equals(other.perDurationSec) &&
      this.perCpuSec.equals(other.perCpuSec)
    );
  }

  /** The offer properties describing this price list. */
  toProperties(): LinearPricingProperties {
    return {
      [PROP_PRICING_MODEL]: "linear",
      [PROP_USAGE_VECTOR]: [...this.usageVector],
      [PROP_LINEAR_COEFFS]: [
        ...this.usageVector.map((c) => formatAmount(this.coeff(c))),
        formatAmount(this.start),
      ],
    };
  }

  /**
   * Read the price list out of offer properties. Coefficients may be decimal strings or (from
   * hand-written offers) finite non-negative numbers.
   *
   * @throws PaymentError naming the property that is missing or malformed.
   */
  static fromProperties(props: Readonly<Record<string, unknown>>): LinearPricing {
    const model = props[PROP_PRICING_MODEL];
    if (model !== "linear") {
      throw new PaymentError(
        model === undefined
          ? `offer has no ${PROP_PRICING_MODEL}`
          : `unsupported ${PROP_PRICING_MODEL} ${JSON.stringify(model)} (expected "linear")`,
      );
    }
    const vector = props[PROP_USAGE_VECTOR];
    if (!Array.isArray(vector) || vector.length !== 2 || !vector.every(isUsageCounter)) {
      throw new PaymentError(
        `invalid ${PROP_USAGE_VECTOR}: ${JSON.stringify(vector)} (expected ["${USAGE_DURATION_SEC}","${USAGE_CPU_SEC}"] in some order)`,
      );
    }
    const coeffs = props[PROP_LINEAR_COEFFS];
    if (!Array.isArray(coeffs) || coeffs.length !== vector.length + 1) {
      throw new PaymentError(
        `invalid ${PROP_LINEAR_COEFFS}: ${JSON.stringify(coeffs)} (expected ${vector.length + 1} coefficients: one per usage counter, then the start price)`,
      );
    }
    const amounts = coeffs.map((c: unknown, i) =>
      parseAmount(
        typeof c === "number" && Number.isFinite(c) ? new Decimal(c) : c,
        `${PROP_LINEAR_COEFFS}[${i}]`,
      ),
    );
    const byCounter = new Map<UsageCounter, Decimal>();
    vector.forEach((counter, i) => byCounter.set(counter, amounts[i]!));
    return new LinearPricing({
      start: amounts[vector.length]!,
      perDurationSec: byCounter.get(USAGE_DURATION_SEC)!,
      perCpuSec: byCounter.get(USAGE_CPU_SEC)!,
      usageVector: vector,
    });
  }

  /** Human-readable summary, e.g. `start 0.1, 0.02/h env, 0.36/h cpu`. */
  toString(): string {
    return `start ${formatAmount(this.start)}, ${formatAmount(this.envPerHour)}/h env, ${formatAmount(this.cpuPerHour)}/h cpu`;
  }
}
