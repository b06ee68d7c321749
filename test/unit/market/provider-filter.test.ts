import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { LeastExpensiveLinearPayu } from "../../../src/market/least-expensive.js";
import { ProviderFilter } from "../../../src/market/provider-filter.js";
import { rankOffers } from "../../../src/market/strategy.js";
import { candidate, offer } from "./fixtures.js";

const prices = { start: "0", perDurationSec: "0.0001", perCpuSec: "0.0001" };
const a = candidate("id-a", offer("alpha", prices));
const b = candidate("id-b", offer("beta", prices));
const c = candidate("id-c", offer("gamma", prices));
const base = new LeastExpensiveLinearPayu();

describe("ProviderFilter", () => {
  it("denies by id or by name, with a reason", () => {
    const s = new ProviderFilter(base, { deny: ["id-a", "beta"] });
    const ranked = rankOffers(s, [a, b, c]);
    expect(ranked.accepted.map((r) => r.candidate.providerId)).toEqual(["id-c"]);
    expect(ranked.rejected.map((r) => r.reason)).toEqual([
      "provider alpha (id-a) is on the deny list",
      "provider beta (id-b) is on the deny list",
    ]);
  });

  it("allows only listed providers; deny wins over allow", () => {
    const s = new ProviderFilter(base, { allow: ["alpha", "id-b"], deny: ["id-b"] });
    const ranked = rankOffers(s, [a, b, c]);
    expect(ranked.accepted.map((r) => r.candidate.providerId)).toEqual(["id-a"]);
    expect(ranked.rejected.map((r) => r.reason)).toEqual([
      "provider beta (id-b) is on the deny list",
      "provider gamma (id-c) is not on the allow list",
    ]);
  });

  it("an empty allow list admits nobody; no lists admit everyone", () => {
    expect(rankOffers(new ProviderFilter(base, { allow: [] }), [a]).accepted).toEqual([]);
    expect(rankOffers(new ProviderFilter(base, {}), [a, b]).accepted).toHaveLength(2);
  });

  it("refuses empty entries", () => {
    expect(() => new ProviderFilter(base, { deny: [" "] })).toThrow(UserError);
  });
});
