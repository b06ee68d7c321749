import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { formatAmount } from "../../../src/payment/money.js";
import { LinearPricing } from "../../../src/payment/pricing.js";
import { usage } from "../../../src/payment/usage.js";

const pricing = new LinearPricing({ start: "0.01", perDurationSec: "0.0001", perCpuSec: "0.0005" });

describe("LinearPricing", () => {
  it("charges start + Σ coeff·usage exactly", () => {
    // 0.01 + 0.0001·3600 + 0.0005·7200.5 = 0.01 + 0.36 + 3.60025
    expect(formatAmount(pricing.cost(usage("3600", "7200.5")))).toBe("3.97025");
    expect(formatAmount(pricing.cost(usage("0", "0")))).toBe("0.01");
    expect(formatAmount(pricing.cost(usage("0.001", "0.003")))).toBe("0.0100016");
  });

  it("gives per-hour prices", () => {
    expect(formatAmount(pricing.envPerHour)).toBe("0.36");
    expect(formatAmount(pricing.cpuPerHour)).toBe("1.8");
    expect(pricing.toString()).toBe("start 0.01, 0.36/h env, 1.8/h cpu");
  });

  it("writes the offer properties of DESIGN §5", () => {
    expect(pricing.toProperties()).toEqual({
      "agora.com.pricing.model": "linear",
      "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
      "agora.com.pricing.model.linear.coeffs": ["0.0001", "0.0005", "0.01"],
    });
  });

  it("round-trips through properties, honouring the vector order", () => {
    const swapped = new LinearPricing({
      start: "1",
      perDurationSec: "2",
      perCpuSec: "3",
      usageVector: ["agora.usage.cpu_sec", "agora.usage.duration_sec"],
    });
    const props = swapped.toProperties();
    expect(props["agora.com.pricing.model.linear.coeffs"]).toEqual(["3", "2", "1"]);
    const back = LinearPricing.fromProperties(props);
    expect(back.equals(swapped)).toBe(true);
    expect(formatAmount(back.cost(usage("10", "100")))).toBe("321");
  });

  it("reads numeric coefficients from hand-written offers", () => {
    const p = LinearPricing.fromProperties({
      "agora.com.pricing.model": "linear",
      "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
      "agora.com.pricing.model.linear.coeffs": [1e-7, 0.5, 0],
    });
    expect(formatAmount(p.perDurationSec)).toBe("0.0000001");
    expect(formatAmount(p.perCpuSec)).toBe("0.5");
  });

  it.each([
    [{}, "offer has no agora.com.pricing.model"],
    [
      { "agora.com.pricing.model": "fixed" },
      'unsupported agora.com.pricing.model "fixed" (expected "linear")',
    ],
    [
      { "agora.com.pricing.model": "linear", "agora.com.usage.vector": ["agora.usage.duration_sec"] },
      "invalid agora.com.usage.vector",
    ],
    [
      {
        "agora.com.pricing.model": "linear",
        "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
        "agora.com.pricing.model.linear.coeffs": ["1", "2"],
      },
      "expected 3 coefficients",
    ],
    [
      {
        "agora.com.pricing.model": "linear",
        "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
        "agora.com.pricing.model.linear.coeffs": ["1", "-2", "0"],
      },
      'invalid agora.com.pricing.model.linear.coeffs[1]: "-2"',
    ],
  ])("refuses bad properties %#", (props, message) => {
    expect(() => LinearPricing.fromProperties(props)).toThrow(PaymentError);
    expect(() => LinearPricing.fromProperties(props)).toThrow(message);
  });

  it("refuses negative prices and a bad vector at construction", () => {
    expect(() => new LinearPricing({ start: "-1", perDurationSec: "0", perCpuSec: "0" })).toThrow(
      'invalid start price: "-1"',
    );
    expect(
      () =>
        new LinearPricing({
          start: "0",
          perDurationSec: "0",
          perCpuSec: "0",
          usageVector: ["agora.usage.cpu_sec", "agora.usage.cpu_sec"],
        }),
    ).toThrow("expected both usage counters once");
  });
});
