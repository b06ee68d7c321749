import { describe, expect, it } from "vitest";
import { logSummary } from "../../../src/requestor/index.js";

describe("logSummary", () => {
  it("prints as it goes and, at the end, per provider: tasks computed/failed, agreements, time, cost", () => {
    const lines: string[] = [];
    const consume = logSummary({ write: (l) => lines.push(l) });
    consume({ type: "computation.started", network: "local(2)", taskPackage: "docker:sha256:x" });
    consume({
      type: "agreement.created",
      agreementId: "ag-1",
      providerId: "prov-aaaaaaaaaaaa",
      providerName: "alpha",
    });
    consume({ type: "task.accepted", taskId: "t1", providerId: "prov-aaaaaaaaaaaa", runningTimeMs: 1500 });
    consume({
      type: "task.retried",
      taskId: "t2",
      providerId: "prov-aaaaaaaaaaaa",
      attempt: 1,
      reason: "exit 3",
    });
    consume({ type: "computation.finished", accepted: 1, rejected: 0 });
    // Invoices are paid after the computation, when agreements end; the table waits for them.
    expect(lines.some((l) => l.includes("total cost"))).toBe(false);
    consume({ type: "payment.sent", agreementId: "ag-1", providerId: "prov-aaaaaaaaaaaa", amount: "0.0123" });
    consume({ type: "payment.sent", agreementId: "ag-1", providerId: "prov-aaaaaaaaaaaa", amount: "0.0007" });
    consume({ type: "payment.settled", paid: "0.013", unsettled: 0 });
    expect(lines[0]).toBe("computation started on local(2): docker:sha256:x");
    expect(lines).toContain("agreement with alpha (ag-1)");
    expect(lines.some((l) => l.startsWith("task t2 failed on alpha, retrying: exit 3"))).toBe(true);
    expect(lines.some((l) => /^computation finished: 1 accepted, 0 rejected in \d+\.\d s$/.test(l))).toBe(
      true,
    );
    expect(lines).toContain(
      "  alpha (prov-aaaaaaa…): 1 task(s) computed, 1 failed, 1 agreement(s), 1.5 s of tasks, cost 0.013",
    );
    expect(lines.at(-1)).toBe("  total cost 0.013");
  });

  it("says how many agreements were left unsettled", () => {
    const lines: string[] = [];
    const consume = logSummary({ write: (l) => lines.push(l) });
    consume({ type: "computation.started", network: "local(1)", taskPackage: "docker:sha256:x" });
    consume({ type: "computation.failed", reason: "timeout", accepted: 0, rejected: 2 });
    consume({ type: "payment.settled", paid: "0", unsettled: 1 });
    expect(lines.at(-1)).toBe("  total cost 0 (1 agreement(s) not settled)");
  });
});
