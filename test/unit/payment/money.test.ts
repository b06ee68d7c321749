import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { formatAmount, isAmount, money, parseAmount, sumAmounts } from "../../../src/payment/money.js";

describe("parseAmount", () => {
  it.each([
    ["0", "0"],
    ["12", "12"],
    ["0.000123", "0.000123"],
    ["10.50", "10.5"],
    ["123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"],
  ])("parses %s exactly", (input, expected) => {
    expect(formatAmount(parseAmount(input))).toBe(expected);
  });

  it.each([
    ["-1", '"-1"'],
    ["1e5", '"1e5"'],
    [" 1", '" 1"'],
    [".5", '".5"'],
    ["1.", '"1."'],
    ["", '""'],
    ["NaN", '"NaN"'],
    ["0x10", '"0x10"'],
  ])("refuses %j with a message naming the input", (input, shown) => {
    expect(() => parseAmount(input, "budget")).toThrow(PaymentError);
    expect(() => parseAmount(input, "budget")).toThrow(
      `invalid budget: ${shown} (expected a non-negative decimal string like "0.25")`,
    );
  });

  it("refuses numbers: money is never a number", () => {
    expect(() => parseAmount(0.1, "budget")).toThrow(
      'invalid budget: got the number 0.1 (expected a decimal string like "0.25")',
    );
    expect(() => parseAmount(null)).toThrow("got a value of type null");
  });

  it("refuses over-long strings before looking at them", () => {
    expect(() => parseAmount("1".repeat(65))).toThrow("invalid amount: 65 characters (at most 64)");
  });

  it("accepts finite non-negative Decimals, refuses negative and infinite ones", () => {
    expect(parseAmount(new Decimal("2.5")).toFixed()).toBe("2.5");
    expect(() => parseAmount(new Decimal(-1))).toThrow(
      "invalid amount: -1 (expected a finite, non-negative amount)",
    );
    expect(() => parseAmount(new Decimal(Infinity))).toThrow(PaymentError);
  });

  it("isAmount agrees with parseAmount", () => {
    expect(isAmount("0.1")).toBe(true);
    expect(isAmount("007.50")).toBe(true);
    expect(isAmount("-0.1")).toBe(false);
    expect(isAmount("1e3")).toBe(false);
  });
});

describe("money arithmetic", () => {
  it("is exact where floats are not", () => {
    expect(formatAmount(money("0.1").plus(money("0.2")))).toBe("0.3");
    expect(formatAmount(sumAmounts(Array.from({ length: 10 }, () => money("0.1"))))).toBe("1");
  });

  it("formats without exponents", () => {
    expect(formatAmount(money("0.0000000001"))).toBe("0.0000000001");
    expect(formatAmount(money("100000000000000000000000"))).toBe("100000000000000000000000");
    expect(formatAmount(sumAmounts([]))).toBe("0");
  });
});
