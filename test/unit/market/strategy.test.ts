import { describe, expect, it } from "vitest";
import {
  providerLabel,
  providerName,
  rankOffers,
  type MarketStrategy,
  type OfferCandidate,
} from "../../../src/market/strategy.js";
import { candidate, offer } from "./fixtures.js";

const prices = { start: "0", perDurationSec: "0", perCpuSec: "0" };

/** A custom strategy: prefers more threads, rejects names starting with "x". */
const byThreads: MarketStrategy = {
  score: (c: OfferCandidate) => {
    if (providerName(c)?.startsWith("x")) return { reject: "no x please" };
    return { score: Number(c.offer.properties["agora.inf.cpu.threads"]) };
  },
};

describe("rankOffers", () => {
  it("sorts accepted offers best first (stable on ties) and lists rejections with reasons", () => {
    const a = candidate("id-a", offer("a", prices, { cpuThreads: 2, memGib: 1, storageGib: 1 }));
    const b = candidate("id-b", offer("b", prices, { cpuThreads: 8, memGib: 1, storageGib: 1 }));
    const c = candidate("id-c", offer("c", prices, { cpuThreads: 2, memGib: 1, storageGib: 1 }));
    const x = candidate("id-x", offer("xeno", prices));
    const ranked = rankOffers(byThreads, [a, b, x, c]);
    expect(ranked.accepted.map((r) => [r.candidate.providerId, r.score])).toEqual([
      ["id-b", 8],
      ["id-a", 2],
      ["id-c", 2],
    ]);
    expect(ranked.rejected).toEqual([{ candidate: x, reason: "no x please" }]);
  });

  it("rejects invalid scores from a custom strategy", () => {
    const bad: MarketStrategy = { score: () => ({ score: Number.NaN }) };
    const c = candidate("id", offer("n", prices));
    expect(rankOffers(bad, [c]).rejected).toEqual([
      { candidate: c, reason: "strategy gave an invalid score NaN" },
    ]);
  });

  it("labels providers by name and id", () => {
    expect(providerLabel(candidate("id-a", offer("a", prices)))).toBe("a (id-a)");
    expect(providerLabel({ providerId: "id-z", offer: { ...offer("z", prices), properties: {} } })).toBe(
      "id-z",
    );
  });
});
