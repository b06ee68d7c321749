/**
 * Market properties (DESIGN §5): a flat map with dotted keys, Golem-like.
 */
import { z } from "zod";
import { MarketError } from "../errors.js";
import { propertiesSchema } from "../protocol/index.js";

/** A scalar property value. */
export type PropertyScalar = string | number | boolean;
/** A property value: a scalar or a list of scalars (a list matches if any element matches). */
export type PropertyValue = PropertyScalar | readonly PropertyScalar[];
/** A flat property map with dotted keys. */
export type Properties = Readonly<Record<string, PropertyValue>>;

/** Well-known property keys (DESIGN §5). */
export const PROP = {
  cpuThreads: "agora.inf.cpu.threads",
  memGib: "agora.inf.mem.gib",
  storageGib: "agora.inf.storage.gib",
  runtimeName: "agora.runtime.name",
  nodeName: "agora.node.id.name",
  subnet: "agora.node.subnet",
  pricingModel: "agora.com.pricing.model",
  usageVector: "agora.com.usage.vector",
  linearCoeffs: "agora.com.pricing.model.linear.coeffs",
  debitNoteIntervalSec: "agora.com.payment.debit-notes.interval-sec",
  paymentAcceptTimeoutSec: "agora.com.payment.accept-timeout-sec",
  expiration: "agora.srv.comp.expiration",
  taskPackage: "agora.srv.comp.task_package",
} as const;

const KEY_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** True for a dotted key such as `agora.inf.mem.gib`. */
export function isPropertyKey(key: string): boolean {
  return key.length <= 256 && KEY_RE.test(key);
}

/**
 * Validate a property map received from outside (wire, preset file, user).
 * @throws MarketError naming the bad key or value.
 */
export function parseProperties(input: unknown): Properties {
  const r = propertiesSchema.safeParse(input);
  if (!r.success)
    throw new MarketError(`invalid properties: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  for (const [key, value] of Object.entries(r.data)) {
    if (!isPropertyKey(key))
      throw new MarketError(`invalid property key ${JSON.stringify(key)}: expected dotted words`);
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new MarketError(`invalid property ${key}: ${value} is not a finite number`);
    }
  }
  return r.data;
}

/** A property's value as a list (a scalar becomes a one-element list, a missing key none). */
export function propertyValues(props: Properties, key: string): readonly PropertyScalar[] {
  const v = Object.hasOwn(props, key) ? props[key] : undefined;
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly PropertyScalar[]) : [v as PropertyScalar];
}

/** A numeric property, or `undefined` when missing or not a number. */
export function numberProperty(props: Properties, key: string): number | undefined {
  const v = Object.hasOwn(props, key) ? props[key] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A string property, or `undefined` when missing or not a string. */
export function stringProperty(props: Properties, key: string): string | undefined {
  const v = Object.hasOwn(props, key) ? props[key] : undefined;
  return typeof v === "string" ? v : undefined;
}
