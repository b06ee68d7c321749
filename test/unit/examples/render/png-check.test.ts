import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkPng,
  checkPngBytes,
  checkPngFile,
  encodePng,
  MAX_PNG_BYTES,
  readPng,
} from "../../../../examples/render/png-check.js";
import { RED, solid } from "./fixtures.js";

describe("checkPngBytes", () => {
  const png = encodePng(solid(4, 3, RED));

  it("decodes a PNG of the asked size into its pixels", () => {
    const r = checkPngBytes(png, { width: 4, height: 3 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.image.width).toBe(4);
    expect(r.image.height).toBe(3);
    expect([...r.image.data.subarray(0, 4)]).toEqual([...RED]);
  });

  it("names the size it found and the one asked", () => {
    expect(checkPngBytes(png, { width: 320, height: 240 })).toEqual({
      ok: false,
      reason: "the PNG is 4×3, expected 320×240",
    });
  });

  it("refuses an empty file and a file that is not a PNG", () => {
    expect(checkPngBytes(new Uint8Array())).toEqual({ ok: false, reason: "the file is empty" });
    expect(checkPngBytes(new TextEncoder().encode("GIF89a......"))).toEqual({
      ok: false,
      reason: "not a PNG (starts with 4749463839612e2e)",
    });
  });

  it("refuses a truncated PNG and one with a corrupted chunk", () => {
    const cut = checkPngBytes(png.subarray(0, png.length - 20));
    expect(cut.ok).toBe(false);
    if (!cut.ok) expect(cut.reason).toMatch(/^the PNG does not decode: /);
    const bad = Buffer.from(png);
    bad[bad.indexOf("IDAT") + 6]! ^= 0xff; // a byte of the compressed image data
    const corrupt = checkPngBytes(bad);
    expect(corrupt.ok).toBe(false);
    if (!corrupt.ok) expect(corrupt.reason).toMatch(/^the PNG does not decode: \S/);
  });
});

describe("checkPng and readPng on files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-png-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("says nothing about a good frame and the reason for a bad one", async () => {
    const file = join(dir, "frame-0000.png");
    await writeFile(file, encodePng(solid(8, 6, RED)));
    expect(await checkPng(file, { width: 8, height: 6 })).toBeUndefined();
    expect(await checkPng(file, { width: 6, height: 8 })).toBe("the PNG is 8×6, expected 6×8");
    expect(await checkPng(join(dir, "missing.png"), { width: 8, height: 6 })).toBe(
      `no file ${join(dir, "missing.png")}`,
    );
    expect((await readPng(file)).width).toBe(8);
    await expect(readPng(file, { width: 1, height: 1 })).rejects.toThrow(
      `${file}: the PNG is 8×6, expected 1×1`,
    );
  });

  it("does not read a file larger than a frame may be", async () => {
    const file = join(dir, "huge.png");
    await writeFile(file, "");
    await truncate(file, MAX_PNG_BYTES + 1);
    expect(await checkPngFile(file)).toEqual({
      ok: false,
      reason: `the file is ${MAX_PNG_BYTES + 1} bytes, more than a frame may be (${MAX_PNG_BYTES})`,
    });
  });
});
