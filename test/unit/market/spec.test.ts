import { describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import { ConstraintParseError } from "../../../src/market/errors.js";
import { demandFromWire, offerFromWire, specToWire } from "../../../src/market/spec.js";
import { offer } from "./fixtures.js";

describe("spec wire form", () => {
  it("round-trips an offer", () => {
    const o = offer("v1", { start: "0.01", perDurationSec: "0.0001", perCpuSec: "0.0002" });
    const wire = JSON.parse(JSON.stringify(specToWire(o))) as unknown;
    const back = offerFromWire(wire);
    expect(back.kind).toBe("offer");
    expect(back.properties).toEqual(o.properties);
    expect(back.constraints.text).toBe("(agora.node.subnet=devnet)");
  });

  it("refuses a bad constraint with its position, and bad properties", () => {
    expect(() => demandFromWire({ properties: {}, constraints: "(a>=)" })).toThrow(ConstraintParseError);
    expect(() => demandFromWire({ properties: { "a b": 1 }, constraints: "(&)" })).toThrow(
      'invalid property key "a b": expected dotted words',
    );
    expect(() => demandFromWire({ properties: {} })).toThrow(
      new MarketError("invalid demand: expected { properties, constraints }").message,
    );
  });
});
