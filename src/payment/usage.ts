/**
 * Usage counters (DESIGN §5, §10): what a provider measures and bills for.
 */
import { Decimal } from "decimal.js";
import { PaymentError } from "../errors.js";
import { formatAmount, parseAmount, ZERO } from "./money.js";

/** Wall-clock seconds since the activity started. */
export const USAGE_DURATION_SEC = "agora.usage.duration_sec";
/** CPU seconds used by the activity's container (all threads summed). */
export const USAGE_CPU_SEC = "agora.usage.cpu_sec";

export type UsageCounter = typeof USAGE_DURATION_SEC | typeof USAGE_CPU_SEC;

/** The counters Agora knows, in their default vector order. */
export const USAGE_COUNTERS: readonly UsageCounter[] = [USAGE_DURATION_SEC, USAGE_CPU_SEC];

/** Measured usage of one activity. Both counters are non-negative. */
export interface Usage {
  readonly durationSec: Decimal;
  readonly cpuSec: Decimal;
}

/** Usage on the wire: counter name → decimal string. */
export type UsageWire = Readonly<Record<UsageCounter, string>>;

export const ZERO_USAGE: Usage = { durationSec: ZERO, cpuSec: ZERO };

export function isUsageCounter(name: unknown): name is UsageCounter {
  return name === USAGE_DURATION_SEC || name === USAGE_CPU_SEC;
}

/** Build a `Usage` from decimal strings or Decimals (seconds). */
export function usage(durationSec: string | Decimal, cpuSec: string | Decimal): Usage {
  return {
    durationSec: parseAmount(durationSec, USAGE_DURATION_SEC),
    cpuSec: parseAmount(cpuSec, USAGE_CPU_SEC),
  };
}

/**
 * Build a `Usage` from seconds given as numbers (seconds are measurements, not money).
 * @throws PaymentError if a value is negative or not finite.
 */
export function usageFromSeconds(durationSec: number, cpuSec: number): Usage {
  for (const [name, v] of [
    [USAGE_DURATION_SEC, durationSec],
    [USAGE_CPU_SEC, cpuSec],
  ] as const) {
    if (!Number.isFinite(v) || v < 0)
      throw new PaymentError(`invalid ${name}: ${v} (expected finite seconds ≥ 0)`);
  }
  return { durationSec: parseAmount(new Decimal(durationSec)), cpuSec: parseAmount(new Decimal(cpuSec)) };
}

/** The value of one counter. */
export function usageValue(u: Usage, counter: UsageCounter): Decimal {
  return counter === USAGE_DURATION_SEC ? u.durationSec : u.cpuSec;
}

export function usageToWire(u: Usage): UsageWire {
  return { [USAGE_DURATION_SEC]: formatAmount(u.durationSec), [USAGE_CPU_SEC]: formatAmount(u.cpuSec) };
}

/** Parse usage received from the wire. @throws PaymentError on a missing or malformed counter. */
export function usageFromWire(wire: unknown): Usage {
  if (typeof wire !== "object" || wire === null || Array.isArray(wire)) {
    throw new PaymentError("invalid usage: expected an object of counter → decimal string");
  }
  const rec = wire as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (!isUsageCounter(key)) throw new PaymentError(`invalid usage: unknown counter ${JSON.stringify(key)}`);
  }
  return {
    durationSec: parseAmount(rec[USAGE_DURATION_SEC], USAGE_DURATION_SEC),
    cpuSec: parseAmount(rec[USAGE_CPU_SEC], USAGE_CPU_SEC),
  };
}
