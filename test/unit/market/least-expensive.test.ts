import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { LeastExpensiveLinearPayu } from "../../../src/market/least-expensive.js";
import { rankOffers } from "../../../src/market/strategy.js";
import { formatAmount } from "../../../src/payment/money.js";
import { candidate, offer } from "./fixtures.js";

const cheap = candidate(
  "id-cheap",
  offer("cheap", { start: "0", perDurationSec: "0.0001", perCpuSec: "0.0002" }),
);
const mid = candidate(
  "id-mid",
  offer("mid", { start: "0.01", perDurationSec: "0.0001", perCpuSec: "0.0002" }),
);
const dear = candidate("id-dear", offer("dear", { start: "0", perDurationSec: "0.001", perCpuSec: "0.002" }));

describe("LeastExpensiveLinearPayu", () => {
  it("computes the exact expected cost for the expected usage", () => {
    const s = new LeastExpensiveLinearPayu({ expectedTimeSec: 100, expectedCpuSec: 50 });
    const r = s.expectedCost(mid);
    expect("cost" in r && formatAmount(r.cost)).toBe("0.03"); // 0.01 + 0.0001·100 + 0.0002·50
  });

  it("ranks the cheapest offer first", () => {
    const ranked = rankOffers(new LeastExpensiveLinearPayu(), [dear, mid, cheap]);
    expect(ranked.accepted.map((r) => r.candidate.providerId)).toEqual(["id-cheap", "id-mid", "id-dear"]);
    // 60 s, 60 cpu s: cheap costs 0.018 → score 1 / 1.018
    expect(ranked.accepted[0]!.score).toBeCloseTo(1 / 1.018, 12);
  });

  it.each([
    [{ maxStartPrice: "0.005" }, "id-mid", "start price 0.01 is above maxStartPrice 0.005"],
    [{ maxCpuPerHourPrice: "1" }, "id-dear", "CPU price per hour 7.2 is above maxCpuPerHourPrice 1"],
    [{ maxEnvPerHourPrice: "0.36" }, "id-dear", "price per hour 3.6 is above maxEnvPerHourPrice 0.36"],
  ])("rejects offers above the cap %j", (caps, rejectedId, reason) => {
    const ranked = rankOffers(new LeastExpensiveLinearPayu(caps), [cheap, mid, dear]);
    expect(ranked.rejected.map((r) => [r.candidate.providerId, r.reason])).toEqual([[rejectedId, reason]]);
  });

  it("accepts offers exactly at the caps", () => {
    const s = new LeastExpensiveLinearPayu({
      maxStartPrice: "0",
      maxEnvPerHourPrice: "0.36",
      maxCpuPerHourPrice: "0.72",
    });
    expect("score" in s.score(cheap)).toBe(true);
  });

  it("rejects offers without valid linear pricing", () => {
    const broken = {
      ...cheap,
      offer: { ...cheap.offer, properties: { "agora.com.pricing.model": "fixed" } },
    };
    expect(new LeastExpensiveLinearPayu().score(broken)).toEqual({
      reject: 'no valid linear pricing: unsupported agora.com.pricing.model "fixed" (expected "linear")',
    });
  });

  it("refuses bad options with UserError", () => {
    expect(() => new LeastExpensiveLinearPayu({ maxStartPrice: "cheap" })).toThrow(UserError);
    expect(() => new LeastExpensiveLinearPayu({ maxStartPrice: "cheap" })).toThrow(
      'invalid maxStartPrice: "cheap"',
    );
    expect(() => new LeastExpensiveLinearPayu({ expectedTimeSec: -1 })).toThrow(
      /^invalid strategy options: .*expectedTimeSec/,
    );
  });
});
