import { describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import {
  agreedPaymentTerms,
  agreementTerms,
  isTerminationReason,
  terminationReasons,
} from "../../../src/market/agreement.js";
import { demandFor } from "../../../src/market/demand.js";
import { OfferBuilder } from "../../../src/market/offer.js";
import { formatAmount } from "../../../src/payment/money.js";
import { usage } from "../../../src/payment/usage.js";
import { expectError } from "../payment/expect-error.js";
import { IMAGE, offer } from "./fixtures.js";

const NOW = 1_700_000_000_000;
const demand = demandFor({ taskPackage: IMAGE, expiresAt: NOW + 3_600_000, subnet: "devnet" });
const good = offer("p", { start: "0.01", perDurationSec: "0.0001", perCpuSec: "0.0005" });
const input = {
  agreementId: "ag-1",
  requestorId: "req",
  providerId: "prov",
  demand,
  offer: good,
  expiresAt: NOW + 3_600_000,
  now: NOW,
};

describe("termination reasons", () => {
  it("are the nine of DESIGN §5", () => {
    expect(terminationReasons).toEqual([
      "Success",
      "Cancelled",
      "Expired",
      "NoActivity",
      "DebitNoteRejected",
      "DebitNotesDeadline",
      "RequestorUnreachable",
      "ProviderUnreachable",
      "Shutdown",
    ]);
    expect(isTerminationReason("DebitNotesDeadline")).toBe(true);
    expect(isTerminationReason("Bored")).toBe(false);
    expect(isTerminationReason(3)).toBe(false);
  });
});

describe("agreementTerms", () => {
  it("derives pricing, threads and the negotiated intervals", () => {
    const t = agreementTerms(input);
    expect(t.threads).toBe(4);
    expect(t.debitNoteIntervalSec).toBe(30);
    expect(t.paymentAcceptTimeoutSec).toBe(60);
    expect(formatAmount(t.pricing.cost(usage("100", "50")))).toBe("0.045");
    const pay = agreedPaymentTerms(t, NOW + 5);
    expect(pay).toEqual({ agreementId: "ag-1", pricing: t.pricing, threads: 4, approvedAt: NOW + 5 });
  });

  it("lets the demand's interval win over the offer's", () => {
    const d = demandFor({
      taskPackage: IMAGE,
      expiresAt: NOW + 1,
      subnet: "devnet",
      properties: { "agora.com.payment.debit-notes.interval-sec": 120 },
    });
    expect(agreementTerms({ ...input, demand: d }).debitNoteIntervalSec).toBe(120);
  });

  it("refuses terms that do not match, with the reason and ids", () => {
    const greedy = demandFor({ taskPackage: IMAGE, expiresAt: NOW + 1, subnet: "devnet", minMemGib: 64 });
    const err = expectError(
      () => agreementTerms({ ...input, demand: greedy }),
      MarketError,
      "agreement ag-1: the offer does not satisfy the demand: (agora.inf.mem.gib>=64) is false: agora.inf.mem.gib is 8",
    );
    expect(err.agreementId).toBe("ag-1");
    expect(err.providerId).toBe("prov");
  });

  it("refuses an expired agreement, a self-agreement, and an offer without pricing or threads", () => {
    expectError(
      () => agreementTerms({ ...input, expiresAt: NOW }),
      MarketError,
      `agreement ag-1: expires at ${NOW}, which is not after now (${NOW})`,
    );
    expectError(
      () => agreementTerms({ ...input, providerId: "req" }),
      MarketError,
      "agreement ag-1: requestor and provider are the same node",
    );
    const unpriced = new OfferBuilder()
      .subnet("devnet")
      .resources({ cpuThreads: 4, memGib: 8, storageGib: 40 })
      .set("agora.com.pricing.model", "linear")
      .build();
    const plainDemand = { ...demand, constraints: good.constraints };
    expectError(
      () => agreementTerms({ ...input, demand: plainDemand, offer: unpriced }),
      MarketError,
      /^agreement ag-1: invalid agora\.com\.usage\.vector/,
    );
    const threadless = { ...good, properties: { ...good.properties, "agora.inf.cpu.threads": 0.5 } };
    expectError(
      () => agreementTerms({ ...input, demand: plainDemand, offer: threadless }),
      MarketError,
      "agreement ag-1: the offer's agora.inf.cpu.threads must be a whole number ≥ 1",
    );
  });
});
