import { mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { Ledger } from "../../../src/payment/ledger.js";
import type { InvoiceRecord, LedgerRecord } from "../../../src/payment/ledger-index.js";
import { formatAmount } from "../../../src/payment/money.js";

const inv = (invoiceId: string, amount: string): InvoiceRecord => ({
  kind: "invoice",
  invoiceId,
  agreementId: "ag",
  payer: "req",
  payee: "prov",
  amount,
  ts: 1,
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "agora-ledger-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Ledger", () => {
  it("appends one JSON line per record and reloads them", async () => {
    const path = join(dir, "sub", "ledger.jsonl");
    const ledger = await Ledger.open({ path });
    expect(await ledger.append(inv("i1", "0.1"))).toBe("new");
    expect(await ledger.append(inv("i2", "0.2"))).toBe("new");
    expect(await ledger.append(inv("i1", "0.1"))).toBe("duplicate");
    await ledger.close();
    await ledger.close();
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as InvoiceRecord).invoiceId)).toEqual(["i1", "i2"]);

    const again = await Ledger.open({ path });
    expect(formatAmount(again.index.invoicedTotal())).toBe("0.3");
    await again.close();
  });

  it("keeps concurrent appends whole and in order, refusing a contradiction without writing it", async () => {
    const path = join(dir, "ledger.jsonl");
    const ledger = await Ledger.open({ path });
    const results = await Promise.allSettled([
      ledger.append(inv("i1", "0.1")),
      ledger.append(inv("i2", "0.2")),
      ledger.append(inv("i1", "0.5")),
      ledger.append(inv("i3", "0.3")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const refused = results[2] as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(PaymentError);
    expect((refused.reason as Error).message).toBe("ledger already holds invoice i1 with different contents");
    await ledger.close();
    const text = await readFile(path, "utf8");
    expect(text.split("\n")).toHaveLength(4);
  });

  it("cuts a torn last line (a crash mid-write) and goes on", async () => {
    const path = join(dir, "ledger.jsonl");
    await writeFile(path, `${JSON.stringify(inv("i1", "0.1"))}\n{"kind":"invo`);
    const ledger = await Ledger.open({ path });
    expect(ledger.index.records).toHaveLength(1);
    await ledger.append(inv("i2", "0.2"));
    await ledger.close();
    const records = (await readFile(path, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as LedgerRecord);
    expect(records.map((r) => r.kind === "invoice" && r.invoiceId)).toEqual(["i1", "i2"]);
  });

  it("refuses a corrupt line in the middle, naming file and line", async () => {
    const path = join(dir, "ledger.jsonl");
    await writeFile(path, `${JSON.stringify(inv("i1", "0.1"))}\nnot json\n`);
    await appendFile(path, `${JSON.stringify(inv("i2", "0.2"))}\n`);
    await expect(Ledger.open({ path })).rejects.toThrow(new RegExp(`^ledger ${path}:2: not JSON$`));
    await writeFile(path, `${JSON.stringify({ ...inv("i1", "0.1"), amount: "-1" })}\n`);
    await expect(Ledger.open({ path })).rejects.toThrow(PaymentError);
  });

  it("refuses malformed records and appends after close", async () => {
    const ledger = await Ledger.open();
    await expect(ledger.append({ ...inv("i1", "0.1"), amount: "ten" })).rejects.toThrow(
      /^invalid ledger record: .*amount/,
    );
    await ledger.close();
    await expect(ledger.append(inv("i1", "0.1"))).rejects.toThrow("ledger is closed");
  });
});
