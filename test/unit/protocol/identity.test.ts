import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { IDENTITY_FILE, NodeIdentity, isNodeId, verifySignature } from "../../../src/protocol/index.js";

describe("NodeIdentity", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-identity-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a 0600 key file once and loads the same identity afterwards", async () => {
    const dataDir = join(dir, "agent");
    const first = await NodeIdentity.loadOrCreate(dataDir);
    const file = join(dataDir, IDENTITY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const again = await NodeIdentity.loadOrCreate(dataDir);
    expect(again.nodeId).toBe(first.nodeId);
    const [a, b] = await Promise.all([
      NodeIdentity.loadOrCreate(join(dir, "x")),
      NodeIdentity.loadOrCreate(join(dir, "x")),
    ]);
    expect(a.nodeId).toBe(b.nodeId);
  });

  it("refuses a key file readable by others, and a file that is not an Ed25519 key", async () => {
    const first = await NodeIdentity.loadOrCreate(dir);
    const file = join(dir, IDENTITY_FILE);
    await chmod(file, 0o644);
    await expect(NodeIdentity.loadOrCreate(dir)).rejects.toThrow(
      `identity key ${file} has mode 644; it must be 600 (chmod 600 ${file})`,
    );
    await chmod(file, 0o600);
    expect((await NodeIdentity.loadOrCreate(dir)).nodeId).toBe(first.nodeId);
    await writeFile(file, "garbage", { mode: 0o600 });
    await expect(NodeIdentity.loadOrCreate(dir)).rejects.toBeInstanceOf(ConfigError);
  });

  it("prints the raw public key as 43 base64url characters and signs verifiably", () => {
    const id = NodeIdentity.generate();
    expect(id.nodeId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(id.nodeId, "base64url")).toHaveLength(32);
    expect(isNodeId(id.nodeId)).toBe(true);
    const data = new TextEncoder().encode("hello");
    const sig = id.sign(data);
    expect(sig).toHaveLength(64);
    expect(verifySignature(id.nodeId, data, sig)).toBe(true);
    expect(verifySignature(id.nodeId, new TextEncoder().encode("hellO"), sig)).toBe(false);
    expect(verifySignature(NodeIdentity.generate().nodeId, data, sig)).toBe(false);
    expect(verifySignature("not-a-node", data, sig)).toBe(false);
    expect(verifySignature(id.nodeId, data, sig.subarray(1))).toBe(false);
    expect(NodeIdentity.fromPem(id.toPem()).nodeId).toBe(id.nodeId);
  });

  it("tells node ids from other strings", () => {
    expect(isNodeId("A".repeat(43))).toBe(true);
    expect(isNodeId("A".repeat(42) + "B")).toBe(false); // 32 bytes leave the low bits zero
    expect(isNodeId("A".repeat(44))).toBe(false);
    expect(isNodeId("*")).toBe(false);
  });
});

describe("NodeIdentity.loadOrCreate under contention", () => {
  it("gives every concurrent loader the one identity on disk, leaving no temp files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agora-identity-race-"));
    try {
      const ids = await Promise.all(Array.from({ length: 8 }, () => NodeIdentity.loadOrCreate(dir)));
      expect(new Set(ids.map((i) => i.nodeId)).size).toBe(1);
      expect(await readdir(dir)).toEqual([IDENTITY_FILE]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
