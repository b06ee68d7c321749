import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { hashHex, isImageHash, parseImageHash, writeHashed } from "../../../src/images/hash.js";
import { filesIn, sha, tempDir } from "./fakes.js";

const HEX = "a".repeat(64);

describe("parseImageHash", () => {
  it("accepts sha256:<hex> and a bare hex digest, normalising case", () => {
    expect(parseImageHash(`sha256:${HEX}`)).toBe(`sha256:${HEX}`);
    expect(parseImageHash(HEX.toUpperCase())).toBe(`sha256:${HEX}`);
    expect(hashHex(`sha256:${HEX}`)).toBe(HEX);
  });

  it.each(["", "sha256:", `sha256:${HEX}0`, `md5:${HEX}`, "sha256:zz"])(
    "refuses %j with a UserError naming it",
    (bad) => {
      expect(() => parseImageHash(bad)).toThrow(UserError);
      expect(() => parseImageHash(bad)).toThrow(JSON.stringify(bad));
      expect(isImageHash(bad)).toBe(false);
    },
  );
});

describe("writeHashed", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.cleanup());

  it("writes the bytes and returns their sha256 and size", async () => {
    const data = Buffer.from("hello image");
    const seen: number[] = [];
    const out = await writeHashed(Readable.from([data]), join(dir.path, "f"), {
      onBytes: (n) => seen.push(n),
    });
    expect(out).toEqual({ hash: sha(data), sizeBytes: data.length });
    expect(await readFile(join(dir.path, "f"))).toEqual(data);
    expect(seen.at(-1)).toBe(data.length);
  });

  it("removes the file when the source fails", async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from("partial"));
    setImmediate(() => source.destroy(new Error("connection reset")));
    await expect(writeHashed(source, join(dir.path, "f"))).rejects.toThrow("connection reset");
    expect(await filesIn(dir.path)).toEqual([]);
  });
});
