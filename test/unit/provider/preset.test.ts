import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { capResources, loadPreset, parsePreset, presetsDir } from "../../../src/provider/index.js";
import { preset } from "./fixtures.js";

describe("provider presets", () => {
  it("bundles at least three valid presets with different prices", async () => {
    const names = (await readdir(presetsDir())).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    expect(names).toEqual(expect.arrayContaining(["default", "cheap", "premium"]));
    const presets = await Promise.all(names.map((n) => loadPreset(n)));
    expect(new Set(presets.map((p) => p.pricing.perCpuSec)).size).toBeGreaterThanOrEqual(3);
    expect(presets.find((p) => p.name === "cheap")?.limits.maxAgreements).toBe(1);
  });

  it("names the file and the bad fields", () => {
    const bad = {
      ...preset(),
      resources: { cpuThreads: 0, memGib: 2, storageGib: 8 },
      pricing: { start: "-1" },
    };
    expect(() => parsePreset(bad, "mine.json")).toThrow(ConfigError);
    try {
      parsePreset(bad, "mine.json");
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain("invalid provider preset mine.json");
      expect(msg).toContain("resources.cpuThreads");
      expect(msg).toContain("pricing.start");
    }
    const limits = { ...preset().limits, debitNoteIntervalSec: { min: 100, max: 10, default: 50 } };
    expect(() => parsePreset({ ...preset(), limits })).toThrow(/min ≤ default ≤ max/);
    expect(() => parsePreset({ ...preset(), extra: 1 })).toThrow(/extra/);
    expect(() =>
      parsePreset({ ...preset(), limits: { ...preset().limits, denyRequestors: ["bob"] } }),
    ).toThrow(/not a node id/);
  });

  it("refuses a missing file and bad JSON with ConfigError", async () => {
    await expect(loadPreset("no-such-preset")).rejects.toThrow(
      /cannot read provider preset .*no-such-preset\.json/,
    );
    await expect(loadPreset("/dev/null")).rejects.toThrow(/not valid JSON/);
  });

  it("caps resources to the machine's", () => {
    expect(capResources(preset(), { cpuThreads: 1, memGib: 1.234, storageGib: 3.999 })).toEqual({
      cpuThreads: 1,
      memGib: 1.23,
      storageGib: 3.99,
    });
    expect(capResources(preset(), { cpuThreads: 64, memGib: 256, storageGib: undefined })).toEqual(
      preset().resources,
    );
  });
});
