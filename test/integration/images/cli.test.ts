/** `agora image …` run as a separate process (bin/agora.js), against the real engine and a private store. */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { busyboxImage } from "../helpers/busybox-image.js";

const BIN = fileURLToPath(new URL("../../../bin/agora.js", import.meta.url));
const BUSYBOX = fileURLToPath(new URL("../../../images/busybox", import.meta.url));
const exec = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let store: string;

async function agora(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      timeout: 180_000,
      env: { ...process.env, AGORA_HOME: join(dir, "home") },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agora-cli-"));
  store = join(dir, "store");
});

const built: string[] = [];
afterAll(async () => {
  const runtime = new DockerRuntime();
  const shared = await busyboxImage();
  for (const id of built) if (id !== shared) await runtime.removeImage(id);
  await rm(dir, { recursive: true, force: true });
});

describe("agora image", () => {
  let hash = "";

  it("build prints progress on stderr and the hash on stdout; a second build reuses it", async () => {
    const first = await agora("image", "build", BUSYBOX, "--store", store);
    expect(first.stderr).toContain("» bootstrap: mmdebstrap bookworm (extract): busybox-static");
    expect(first.stderr).toMatch(/built busybox: [\d.]+ MiB in [\d.]+ s/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    hash = first.stdout.trim();
    const again = await agora("image", "build", BUSYBOX, "--store", store);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(hash);
    expect(again.stderr).toContain(`busybox: recipe unchanged, reusing ${hash}`);
  });

  it("ls lists the stored image with its size and name", async () => {
    const ls = await agora("image", "ls", "--store", store);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^${hash}\\s+[\\d.]+ MiB\\s+\\S+\\s+busybox$`, "m"));
    const json = JSON.parse((await agora("image", "ls", "--json", "--store", store)).stdout) as {
      imageId: string;
    }[];
    expect(json).toHaveLength(1);
    built.push(json[0]!.imageId);
  });

  it("pack turns a local Docker image into an agora image and prints its hash", async () => {
    const packed = await agora("image", "pack", await busyboxImage(), "--store", store);
    expect(packed.code).toBe(0);
    expect(packed.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(packed.stderr).not.toContain("warning");
    expect((await agora("image", "ls", "--store", store)).stdout).toContain(packed.stdout.trim());
  });

  it("rm removes by hash, and says when the hash is not stored", async () => {
    const removed = await agora("image", "rm", hash, "--store", store);
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${hash}\n` });
    expect((await agora("image", "ls", "--store", store)).stdout).not.toContain(hash);
    const again = await agora("image", "rm", hash, "--store", store);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`agora: not in the store ${store}: ${hash}`);
  });

  it("uses $AGORA_HOME/images when no --store is given", async () => {
    const ls = await agora("image", "ls");
    expect(ls.code).toBe(0);
    expect(ls.stderr).toContain(`0 image(s), 0 B in ${join(dir, "home", "images")}`);
  });

  it.each([
    [["image", "rm", "sha256:nothex"], 'not an image hash: "sha256:nothex"'],
    [["image", "pack", "agora-no-such-image:1"], 'there is no local Docker image "agora-no-such-image:1"'],
    [["image", "build", "/nonexistent/recipe"], "cannot read /nonexistent/recipe/recipe.json"],
  ])("%j fails with exit code 2 and a clear message", async (args, message) => {
    const r = await agora(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("names the bad field of an invalid recipe", async () => {
    const recipe = join(dir, "bad-recipe");
    await mkdir(recipe, { recursive: true });
    await writeFile(
      join(recipe, "recipe.json"),
      JSON.stringify({
        name: "bad",
        debian: { suite: "bookworm", variant: "extract", packages: ["busybox-static"] },
        user: { name: "root", uid: 0, gid: 0 },
      }),
    );
    const r = await agora("image", "build", recipe, "--store", store);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("user.uid: must not be 0: the image user is never root");
  });
});
