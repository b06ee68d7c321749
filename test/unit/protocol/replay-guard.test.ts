import { describe, expect, it } from "vitest";
import { ReplayGuard } from "../../../src/protocol/index.js";

describe("ReplayGuard", () => {
  it("refuses an id it has seen, and forgets ids once their ts leaves the window", () => {
    const guard = new ReplayGuard({ windowMs: 1_000 });
    expect(guard.check("a", 10_000)).toBe("ok");
    guard.remember("a", 10_000, 10_000);
    expect(guard.check("a", 10_000)).toBe("replay");
    guard.remember("b", 10_500, 10_500);
    guard.remember("c", 11_200, 11_200); // now - window = 10_200: "a" is pruned, "b" kept
    expect(guard.size).toBe(2);
    expect(guard.check("a", 10_000)).toBe("ok"); // the skew check refuses it instead
    expect(guard.check("b", 10_500)).toBe("replay");
  });

  it("stays within its capacity by raising a floor that no evicted id can pass", () => {
    const guard = new ReplayGuard({ windowMs: 60_000, capacity: 3 });
    for (let i = 0; i < 5; i++) guard.remember(`id${i}`, 1_000 + i, 1_010);
    expect(guard.size).toBe(3);
    expect(guard.floor).toBe(1_001);
    expect(guard.check("id0", 1_000)).toBe("evicted");
    expect(guard.check("id1", 1_001)).toBe("evicted");
    expect(guard.check("id4", 1_004)).toBe("replay");
    expect(guard.check("new", 1_002)).toBe("ok");
  });
});
