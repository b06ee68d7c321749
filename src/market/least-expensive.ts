/**
 * `LeastExpensiveLinearPayu`: prefer the offer whose linear price for an expected usage is lowest,
 * rejecting offers above the price caps.
 */
import { z } from "zod";
import { PaymentError, UserError } from "../errors.js";
import {
  formatAmount,
  LinearPricing,
  parseAmount,
  usageFromSeconds,
  type Decimal,
  type MoneyInput,
  type Usage,
} from "../payment/index.js";
import type { MarketStrategy, OfferCandidate, ScoreResult } from "./strategy.js";

export interface LeastExpensiveLinearPayuOptions {
  /** Expected wall-clock seconds of an activity, for the expected cost. @default 60 */
  readonly expectedTimeSec?: number;
  /** Expected CPU seconds of an activity. @default expectedTimeSec (one busy thread) */
  readonly expectedCpuSec?: number;
  /** Reject offers whose start price is above this. @default no cap */
  readonly maxStartPrice?: MoneyInput;
  /** Reject offers whose price per CPU hour is above this. @default no cap */
  readonly maxCpuPerHourPrice?: MoneyInput;
  /** Reject offers whose price per hour of wall-clock time is above this. @default no cap */
  readonly maxEnvPerHourPrice?: MoneyInput;
}

export interface ResolvedLeastExpensiveLinearPayuOptions {
  readonly expectedUsage: Usage;
  readonly maxStartPrice: Decimal | undefined;
  readonly maxCpuPerHourPrice: Decimal | undefined;
  readonly maxEnvPerHourPrice: Decimal | undefined;
}

const seconds = z.number().finite().nonnegative();
const optionsSchema = z.object({ expectedTimeSec: seconds.optional(), expectedCpuSec: seconds.optional() });

/** @throws UserError naming the bad option. */
export function resolveLeastExpensiveOptions(
  options: LeastExpensiveLinearPayuOptions = {},
): ResolvedLeastExpensiveLinearPayuOptions {
  const r = optionsSchema.safeParse(options);
  if (!r.success)
    throw new UserError(`invalid strategy options: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  const time = r.data.expectedTimeSec ?? 60;
  const cap = (name: keyof LeastExpensiveLinearPayuOptions, v: MoneyInput | undefined) => {
    if (v === undefined) return undefined;
    try {
      return parseAmount(v, name);
    } catch (err) {
      throw err instanceof PaymentError ? new UserError(err.message, { cause: err }) : err;
    }
  };
  return Object.freeze({
    expectedUsage: usageFromSeconds(time, r.data.expectedCpuSec ?? time),
    maxStartPrice: cap("maxStartPrice", options.maxStartPrice),
    maxCpuPerHourPrice: cap("maxCpuPerHourPrice", options.maxCpuPerHourPrice),
    maxEnvPerHourPrice: cap("maxEnvPerHourPrice", options.maxEnvPerHourPrice),
  });
}

export class LeastExpensiveLinearPayu implements MarketStrategy {
  readonly options: ResolvedLeastExpensiveLinearPayuOptions;

  constructor(options: LeastExpensiveLinearPayuOptions = {}) {
    this.options = resolveLeastExpensiveOptions(options);
  }

  /** The offer's price for the expected usage, or a rejection reason. */
  expectedCost(candidate: OfferCandidate): { cost: Decimal } | { reject: string } {
    let pricing: LinearPricing;
    try {
      pricing = LinearPricing.fromProperties(candidate.offer.properties);
    } catch (err) {
      if (err instanceof PaymentError) return { reject: `no valid linear pricing: ${err.message}` };
      throw err;
    }
    const o = this.options;
    const over = (what: string, price: Decimal, capName: string, limit: Decimal | undefined) =>
      limit !== undefined && price.gt(limit)
        ? `${what} ${formatAmount(price)} is above ${capName} ${formatAmount(limit)}`
        : undefined;
    const reason =
      over("start price", pricing.start, "maxStartPrice", o.maxStartPrice) ??
      over("CPU price per hour", pricing.cpuPerHour, "maxCpuPerHourPrice", o.maxCpuPerHourPrice) ??
      over("price per hour", pricing.envPerHour, "maxEnvPerHourPrice", o.maxEnvPerHourPrice);
    return reason === undefined ? { cost: pricing.cost(o.expectedUsage) } : { reject: reason };
  }

  /** Score `1 / (1 + expected cost)`: in (0, 1], cheaper is higher. */
  score(candidate: OfferCandidate): ScoreResult {
    const r = this.expectedCost(candidate);
    if ("reject" in r) return r;
    return { score: 1 / (1 + r.cost.toNumber()) };
  }
}
