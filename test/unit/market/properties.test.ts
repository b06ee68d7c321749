import { describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import {
  isPropertyKey,
  numberProperty,
  parseProperties,
  propertyValues,
  stringProperty,
} from "../../../src/market/properties.js";

describe("properties", () => {
  it("accepts a flat map of dotted keys with scalar and list values", () => {
    const p = parseProperties({
      "agora.inf.mem.gib": 0.5,
      "agora.runtime.name": "docker",
      "a.b": [1, 2],
      "x.y": true,
    });
    expect(numberProperty(p, "agora.inf.mem.gib")).toBe(0.5);
    expect(stringProperty(p, "agora.runtime.name")).toBe("docker");
    expect(propertyValues(p, "a.b")).toEqual([1, 2]);
    expect(propertyValues(p, "x.y")).toEqual([true]);
    expect(propertyValues(p, "missing")).toEqual([]);
    expect(numberProperty(p, "agora.runtime.name")).toBeUndefined();
  });

  it.each([
    [{ "a.b": { nested: 1 } }, /^invalid properties: /],
    [{ "a..b": 1 }, 'invalid property key "a..b": expected dotted words'],
    [{ "a b": 1 }, 'invalid property key "a b": expected dotted words'],
    [[1, 2], /^invalid properties: /],
    ["x", /^invalid properties: /],
  ])("refuses %j", (input, message) => {
    expect(() => parseProperties(input)).toThrow(MarketError);
    expect(() => parseProperties(input)).toThrow(message);
  });

  it("recognises dotted keys", () => {
    expect(isPropertyKey("agora.com.payment.debit-notes.interval-sec")).toBe(true);
    expect(isPropertyKey(".a")).toBe(false);
    expect(isPropertyKey("")).toBe(false);
  });

  it("ignores inherited keys", () => {
    expect(propertyValues({}, "toString")).toEqual([]);
    expect(stringProperty({}, "constructor")).toBeUndefined();
  });
});
