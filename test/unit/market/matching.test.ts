import { describe, expect, it } from "vitest";
import { DemandBuilder, demandFor } from "../../../src/market/demand.js";
import { matches } from "../../../src/market/matching.js";
import { IMAGE, offer } from "./fixtures.js";

const prices = { start: "0", perDurationSec: "0.0001", perCpuSec: "0.0001" };
const demand = (o: Partial<Parameters<typeof demandFor>[0]> = {}) =>
  demandFor({ taskPackage: IMAGE, expiresAt: 1, subnet: "devnet", ...o });

describe("matches", () => {
  it("matches when both sides' constraints hold", () => {
    expect(matches(demand(), offer("p", prices))).toEqual({ ok: true });
  });

  it("says why the offer fails the demand (too much memory asked)", () => {
    expect(matches(demand({ minMemGib: 16 }), offer("p", prices))).toEqual({
      ok: false,
      reason:
        "the offer does not satisfy the demand: (agora.inf.mem.gib>=16) is false: agora.inf.mem.gib is 8",
    });
  });

  it("says why either side fails the other (other subnet)", () => {
    const r = matches(demand({ subnet: "public" }), offer("p", prices));
    expect(r).toEqual({
      ok: false,
      reason:
        'the offer does not satisfy the demand: (agora.node.subnet=public) is false: agora.node.subnet is "devnet"',
    });
    const outsider = new DemandBuilder().set("agora.node.subnet", "x").build();
    expect(matches(outsider, offer("p", prices))).toEqual({
      ok: false,
      reason:
        'the demand does not satisfy the offer: (agora.node.subnet=devnet) is false: agora.node.subnet is "x"',
    });
  });

  it("refuses a wrong runtime", () => {
    expect(matches(demand({ runtime: "vm" }), offer("p", prices))).toMatchObject({
      ok: false,
      reason: expect.stringContaining(
        '(agora.runtime.name=vm) is false: agora.runtime.name is "docker"',
      ) as unknown,
    });
  });
});
