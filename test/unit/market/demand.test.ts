import { describe, expect, it } from "vitest";
import { MarketError, UserError } from "../../../src/errors.js";
import { ConstraintParseError } from "../../../src/market/errors.js";
import { DemandBuilder, demandFor, resolveDemandOptions } from "../../../src/market/demand.js";
import { IMAGE } from "./fixtures.js";

describe("demandFor", () => {
  it("builds the usual demand with defaults", () => {
    const d = demandFor({ taskPackage: IMAGE, expiresAt: 1_700_000_000_000 });
    expect(d.kind).toBe("demand");
    expect(d.properties).toEqual({
      "agora.node.subnet": "public",
      "agora.srv.comp.task_package": IMAGE,
      "agora.srv.comp.expiration": 1_700_000_000_000,
    });
    expect(d.constraints.text).toBe(
      "(&(agora.node.subnet=public)(agora.runtime.name=docker)(agora.inf.cpu.threads>=1)(agora.inf.mem.gib>=0.5)(agora.inf.storage.gib>=2)(agora.com.pricing.model=linear))",
    );
  });

  it("takes subnet, resources, extra constraints and properties", () => {
    const d = demandFor({
      taskPackage: `${IMAGE}@http://example.test/img.tar`,
      expiresAt: 5,
      subnet: "devnet",
      minMemGib: 4,
      constraints: ["(agora.inf.cpu.threads>=8)"],
      properties: { "app.name": "render" },
    });
    expect(d.properties["app.name"]).toBe("render");
    expect(d.constraints.matches({ "agora.node.subnet": "devnet" })).toBe(false);
    expect(d.constraints.text).toContain("(agora.inf.mem.gib>=4)");
    expect(d.constraints.text).toMatch(/\(agora\.inf\.cpu\.threads>=8\)\)$/);
  });

  it("refuses bad options with a UserError naming them", () => {
    expect(() => resolveDemandOptions({ taskPackage: "docker:latest", expiresAt: 1 })).toThrow(UserError);
    expect(() => resolveDemandOptions({ taskPackage: "docker:latest", expiresAt: 1 })).toThrow(/taskPackage/);
    expect(() => resolveDemandOptions({ taskPackage: IMAGE, expiresAt: 1, minMemGib: -1 })).toThrow(
      /minMemGib/,
    );
    expect(() =>
      resolveDemandOptions({ taskPackage: IMAGE, expiresAt: 1, properties: { "bad key": 1 } }),
    ).toThrow(
      new UserError('invalid demand options: invalid property key "bad key": expected dotted words').message,
    );
    expect(() => demandFor({ taskPackage: IMAGE, expiresAt: 1, constraints: ["(oops"] })).toThrow(
      ConstraintParseError,
    );
  });
});

describe("DemandBuilder", () => {
  it("escapes values it turns into constraints", () => {
    const d = new DemandBuilder().subnet("team(a)*").build();
    expect(d.constraints.text).toBe("(agora.node.subnet=team\\(a\\)\\*)");
    expect(d.constraints.matches({ "agora.node.subnet": "team(a)*" })).toBe(true);
    expect(d.constraints.matches({ "agora.node.subnet": "team(a)x" })).toBe(false);
  });

  it("refuses bad keys and values", () => {
    expect(() => new DemandBuilder().set("bad key", 1)).toThrow(MarketError);
    expect(() => new DemandBuilder().set("a.b", Number.NaN)).toThrow(
      "invalid property a.b: NaN is not a finite number",
    );
    expect(() => new DemandBuilder().minResources({ memGib: 0 })).toThrow(
      "invalid memGib: 0 (expected a positive number)",
    );
    expect(() => new DemandBuilder().taskPackage("sha256:abc")).toThrow(UserError);
  });

  it("with no constraints matches everything", () => {
    expect(new DemandBuilder().build().constraints.matches({})).toBe(true);
  });
});
