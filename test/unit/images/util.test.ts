import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { errorMessage, isNotFound } from "../../../src/images/util.js";

describe("images util", () => {
  it("errorMessage takes an Error's message and stringifies the rest", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage(42)).toBe("42");
  });

  it("isNotFound recognises ENOENT only", async () => {
    const missing = await readFile("/nonexistent/agora/file").catch((e: unknown) => e);
    expect(isNotFound(missing)).toBe(true);
    const isDir = await readFile("/").catch((e: unknown) => e);
    expect(isNotFound(isDir)).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });
});
