/**
 * The integration scenario, run on each bus: three agents with different prices propose,
 * the strategy picks the cheapest, both sign, one batch moves bytes in and out, termination; and
 * the refusals a requestor must be able to read.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkSignedAgreement,
  LeastExpensiveLinearPayu,
  verifyAgreementSignature,
} from "../../../src/market/index.js";
import { Batch, type CommandEvent } from "../../../src/requestor/index.js";
import type { Bus } from "../../../src/transport/index.js";
import { startMarket, type Market } from "./fixture.js";

export interface Buses {
  readonly providerBus: Bus;
  readonly requestorBus: Bus;
  readonly settle?: () => Promise<void>;
  close(): Promise<void>;
}

const WINDOW_MS = 1500;

export function marketScenario(busName: string, buses: () => Promise<Buses>): void {
  describe(`market on ${busName}`, () => {
    let market: Market | undefined;
    let b: Buses | undefined;
    const open = async (): Promise<Market> => {
      b = await buses();
      market = await startMarket({ ...b, subnet: `t${randomUUID().slice(0, 8)}` });
      return market;
    };
    afterEach(async () => {
      await market?.close();
      await b?.close();
      market = undefined;
      b = undefined;
    });

    it("agrees with the cheapest of three, runs one batch and terminates", async () => {
      const m = await open();
      const cheap = m.agents[1]!;
      const { requestor } = m;
      const negotiated = await requestor.market.negotiate(m.demand(), new LeastExpensiveLinearPayu(), {
        windowMs: WINDOW_MS,
        expiresAt: Date.now() + 300_000,
      });
      expect(negotiated.collected.proposals).toHaveLength(3);
      const { agreement } = negotiated;
      expect(agreement.providerId).toBe(cheap.nodeId);
      expect(agreement.requestorId).toBe(requestor.nodeId);
      expect(checkSignedAgreement(agreement)).toBeUndefined();
      expect(verifyAgreementSignature(agreement, cheap.nodeId, agreement.providerSignature)).toBe(true);
      expect(verifyAgreementSignature(agreement, requestor.nodeId, agreement.requestorSignature)).toBe(true);
      expect(checkSignedAgreement({ ...agreement, expiresAt: agreement.expiresAt + 1 })).toMatch(/signature/);
      expect(cheap.activeAgreements).toBe(1);

      const activity = await requestor.activities.create(agreement);
      const events: CommandEvent[] = [];
      const batch = new Batch()
        .deploy()
        .start()
        .sendBytes("hello agora\n", "/golem/work/in.txt")
        .run("/bin/sh", "-c", "tr a-z A-Z < /golem/work/in.txt > /golem/output/out.txt && echo converted")
        .downloadBytes("/golem/output/out.txt");
      const result = await requestor.activities.exec(activity, batch, {
        timeoutMs: 60_000,
        onEvent: (e) => events.push(e),
      });
      expect(result.message).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0]);
      expect(result.results[3]!.stdout).toBe("converted\n");
      expect(Buffer.from(result.results[4]!.bytes!).toString()).toBe("HELLO AGORA\n");
      expect(events.filter((e) => e.type === "command.started")).toHaveLength(5);
      expect(events).toContainEqual({ type: "command.stdout", index: 3, data: "converted\n" });
      expect(events.at(-1)).toEqual({ type: "command.finished", index: 4, exitCode: 0 });

      // Files both ways, and JSON, on the same (started) container.
      const dir = await mkdtemp(join(tmpdir(), "agora-scenario-"));
      try {
        const input = join(dir, "in.bin");
        const payload = randomBytes(300_000);
        await writeFile(input, payload);
        const files = new Batch()
          .sendFile(input, "/golem/resource/in.bin")
          .sendJson({ frame: 7 }, "/golem/work/params.json")
          .run("/bin/sh", "-c", "cat /golem/resource/in.bin /golem/work/params.json > /golem/output/both")
          .downloadFile("/golem/output/both", join(dir, "both"));
        const r2 = await requestor.activities.exec(activity, files, { timeoutMs: 60_000 });
        expect(r2.ok).toBe(true);
        expect(r2.results[3]!.file).toBe(join(dir, "both"));
        expect(await readFile(join(dir, "both"))).toEqual(
          Buffer.concat([payload, Buffer.from('{"frame":7}')]),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }

      await requestor.activities.destroy(activity);
      expect(cheap.liveActivities).toBe(0);
      await requestor.market.terminate(agreement, { reason: "Success" });
      expect(cheap.activeAgreements).toBe(0);
    });

    it("refuses demands that do not match, with reasons, and refuses at capacity", async () => {
      const m = await open();
      const { market: client } = m.requestor;
      const tooBig = await client.collectProposals(m.demand({ minMemGib: 100_000 }), { windowMs: WINDOW_MS });
      expect(tooBig.proposals).toHaveLength(0);
      expect(tooBig.refusals).toHaveLength(3);
      for (const r of tooBig.refusals) expect(r.reason).toMatch(/agora\.inf\.mem\.gib/);

      const wasm = await client.collectProposals(m.demand({ runtime: "wasm" }), { windowMs: WINDOW_MS });
      expect(wasm.proposals).toHaveLength(0);
      for (const r of wasm.refusals) expect(r.reason).toMatch(/agora\.runtime\.name/);

      // A demand for another subnet: providers of this one say why not.
      const elsewhere = await client.collectProposals(m.demand({ subnet: "elsewhere" }), {
        windowMs: WINDOW_MS,
      });
      expect(elsewhere.proposals).toHaveLength(0);
      expect(elsewhere.refusals).toHaveLength(3);
      for (const r of elsewhere.refusals) expect(r.reason).toMatch(/agora\.node\.subnet/);

      // The cheap preset takes one agreement at a time.
      const cheap = m.agents[1]!;
      const first = await client.negotiate(m.demand(), new LeastExpensiveLinearPayu(), {
        windowMs: WINDOW_MS,
        expiresAt: Date.now() + 300_000,
      });
      expect(first.agreement.providerId).toBe(cheap.nodeId);
      const second = await client.collectProposals(m.demand(), { windowMs: WINDOW_MS });
      expect(second.proposals.map((p) => p.providerId)).not.toContain(cheap.nodeId);
      expect(second.refusals).toEqual([
        { providerId: cheap.nodeId, reason: "at capacity: 1 of 1 agreements in force" },
      ]);
    });
  });
}
