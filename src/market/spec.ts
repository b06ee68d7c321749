/**
 * Demands and offers (DESIGN §5): each is properties plus constraints on the other side's
 * properties. Builders set well-known properties and their usual constraints.
 */
import { z } from "zod";
import { MarketError } from "../errors.js";
import { Constraints } from "./constraints.js";
import {
  isPropertyKey,
  parseProperties,
  type Properties,
  type PropertyScalar,
  type PropertyValue,
} from "./properties.js";

export interface MarketSpec {
  readonly properties: Properties;
  /** Evaluated on the other side's properties. */
  readonly constraints: Constraints;
}

/** What a requestor asks for. */
export interface Demand extends MarketSpec {
  readonly kind: "demand";
}

/** What a provider offers. */
export interface Offer extends MarketSpec {
  readonly kind: "offer";
}

/** A spec on the wire (the protocol's `specSchema`). */
export interface SpecWire {
  readonly properties: Properties;
  readonly constraints: string;
}

export function specToWire(spec: MarketSpec): SpecWire {
  return { properties: spec.properties, constraints: spec.constraints.text };
}

/** Parse a demand received from the wire. @throws MarketError (ConstraintParseError for the filter). */
export function demandFromWire(input: unknown): Demand {
  return { kind: "demand", ...specFromWire(input, "demand") };
}

/** Parse an offer received from the wire. @throws MarketError (ConstraintParseError for the filter). */
export function offerFromWire(input: unknown): Offer {
  return { kind: "offer", ...specFromWire(input, "offer") };
}

const wireShape = z.object({ properties: z.unknown(), constraints: z.string() });

function specFromWire(input: unknown, what: string): MarketSpec {
  const r = wireShape.safeParse(input);
  if (!r.success) throw new MarketError(`invalid ${what}: expected { properties, constraints }`);
  return {
    properties: parseProperties(r.data.properties),
    constraints: Constraints.parse(r.data.constraints),
  };
}

/** Shared part of the two builders: properties and constraints. */
export abstract class SpecBuilder<S extends MarketSpec> {
  protected readonly props: Record<string, PropertyValue> = {};
  protected readonly filters: Constraints[] = [];

  /** Set one property. @throws MarketError on a key that is not dotted words. */
  set(key: string, value: PropertyValue): this {
    if (!isPropertyKey(key))
      throw new MarketError(`invalid property key ${JSON.stringify(key)}: expected dotted words`);
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new MarketError(`invalid property ${key}: ${value} is not a finite number`);
    }
    this.props[key] = Array.isArray(value) ? [...(value as readonly PropertyScalar[])] : value;
    return this;
  }

  /** Set several properties. */
  setAll(props: Properties): this {
    for (const [k, v] of Object.entries(props)) this.set(k, v);
    return this;
  }

  /** Add a constraint on the other side's properties. @throws ConstraintParseError */
  require(filter: string | Constraints): this {
    this.filters.push(typeof filter === "string" ? Constraints.parse(filter) : filter);
    return this;
  }

  abstract build(): S;

  protected spec(): MarketSpec {
    return {
      properties: Object.freeze({ ...this.props }),
      constraints: this.filters.length === 0 ? Constraints.none() : Constraints.all(this.filters),
    };
  }
}
