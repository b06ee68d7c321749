import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { formatAmount } from "../../../src/payment/money.js";
import {
  usage,
  usageFromSeconds,
  usageFromWire,
  usageToWire,
  usageValue,
} from "../../../src/payment/usage.js";

describe("usage", () => {
  it("round-trips through the wire form", () => {
    const u = usage("12.5", "30");
    const wire = usageToWire(u);
    expect(wire).toEqual({ "agora.usage.duration_sec": "12.5", "agora.usage.cpu_sec": "30" });
    const back = usageFromWire(wire);
    expect(formatAmount(back.durationSec)).toBe("12.5");
    expect(formatAmount(usageValue(back, "agora.usage.cpu_sec"))).toBe("30");
  });

  it("refuses unknown, missing and negative counters", () => {
    expect(() => usageFromWire({ "agora.usage.gpu_sec": "1" })).toThrow(
      'invalid usage: unknown counter "agora.usage.gpu_sec"',
    );
    expect(() => usageFromWire({ "agora.usage.duration_sec": "1" })).toThrow(
      "invalid agora.usage.cpu_sec: got a value of type undefined",
    );
    expect(() => usage("-1", "0")).toThrow(PaymentError);
    expect(() => usageFromWire([])).toThrow("invalid usage: expected an object");
  });

  it("builds usage from seconds measured as numbers", () => {
    const u = usageFromSeconds(1e-7, 90.25);
    expect(formatAmount(u.durationSec)).toBe("0.0000001");
    expect(formatAmount(u.cpuSec)).toBe("90.25");
    expect(() => usageFromSeconds(-1, 0)).toThrow(
      "invalid agora.usage.duration_sec: -1 (expected finite seconds ≥ 0)",
    );
    expect(() => usageFromSeconds(0, NaN)).toThrow(PaymentError);
  });
});
