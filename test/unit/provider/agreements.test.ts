import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SignedAgreement, TerminationReason } from "../../../src/market/index.js";
import { AgreementRegistry, type AgreementRecord } from "../../../src/provider/agreements.js";

function agreement(id: string, expiresAt: number): SignedAgreement {
  const spec = { properties: {}, constraints: "" };
  return {
    agreementId: id,
    demandId: "d",
    proposalId: "p",
    requestorId: "r",
    providerId: "p",
    demand: spec,
    offer: spec,
    expiresAt,
    requestorSignature: "",
    providerSignature: "",
    approvedAt: 0,
  };
}

describe("AgreementRegistry", () => {
  const ended: [string, TerminationReason, string][] = [];
  let registry: AgreementRegistry;
  beforeEach(() => {
    vi.useFakeTimers();
    ended.length = 0;
    registry = new AgreementRegistry({
      idleTimeoutMs: 1000,
      msUntil: (at) => at - Date.now(),
      onTimeout: (r: AgreementRecord, reason, message) =>
        ended.push([r.agreement.agreementId, reason, message]),
    });
  });
  afterEach(() => vi.useRealTimers());

  it("terminates an agreement with no activity for the idle timeout (NoActivity)", () => {
    const r = registry.add(agreement("a1", Date.now() + 60_000));
    expect(registry.active).toBe(1);
    vi.advanceTimersByTime(999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual([["a1", "NoActivity", "no activity for 1000 ms"]]);
    expect(r.state).toBe("terminated");
    expect(registry.active).toBe(0);
  });

  it("is not idle while an activity lives, and idles again after the last ends", () => {
    const r = registry.add(agreement("a1", Date.now() + 60_000));
    registry.activityCreated(r, "act1");
    vi.advanceTimersByTime(5000);
    expect(ended).toEqual([]);
    registry.activityEnded(r, "act1");
    vi.advanceTimersByTime(1000);
    expect(ended.map((e) => e[1])).toEqual(["NoActivity"]);
  });

  it("terminates at expiry (Expired), once", () => {
    const r = registry.add(agreement("a1", Date.now() + 500));
    registry.activityCreated(r, "act1");
    vi.advanceTimersByTime(500);
    expect(ended).toEqual([["a1", "Expired", "the agreement reached its expiration"]]);
    expect(registry.terminate(r, "Success")).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(ended).toHaveLength(1);
  });

  it("stops the timers of an agreement terminated by hand, and prunes old records", () => {
    const r = registry.add(agreement("a1", Date.now() + 500));
    expect(registry.terminate(r, "Cancelled", "bye")).toBe(true);
    expect(r.termination).toEqual({ reason: "Cancelled", message: "bye" });
    vi.advanceTimersByTime(10_000);
    expect(ended).toEqual([]);
    registry.prune(0);
    expect(registry.get("a1")).toBeUndefined();
  });
});
