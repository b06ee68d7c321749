import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { ImageBuilder, ImageStore } from "../../../src/images/index.js";
import { BUSYBOX_RECIPE_DIR, busyboxImage } from "../helpers/busybox-image.js";

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", timeout: 60_000 }).trim();
}

describe("busyboxImage()", () => {
  it("builds once: concurrent callers get the same loaded image id", async () => {
    const [a, b] = await Promise.all([busyboxImage(), busyboxImage()]);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b).toBe(a);
    expect(await busyboxImage()).toBe(a);
  });

  it("declares the golem volumes, a non-root user and a work dir", async () => {
    const info = await new DockerRuntime().inspectImage(await busyboxImage());
    expect(info?.volumes).toEqual(["/golem/output", "/golem/resource", "/golem/work"]);
    expect(info?.user).toBe("agora");
    expect(info?.workdir).toBe("/golem/work");
  });

  it("runs /bin/sh as a non-root user that exists in /etc/passwd, with writable volumes", async () => {
    const id = await busyboxImage();
    const out = docker(
      "run",
      "--rm",
      "--network",
      "none",
      "--read-only",
      id,
      "/bin/sh",
      "-c",
      "id -un; id -u; echo ok > /golem/output/x && cat /golem/output/x; ls /bin/sh",
    );
    expect(out.split("\n")).toEqual(["agora", "1000", "ok", "/bin/sh"]);
  });

  it("reloads the image from the store when the engine lost it (a private copy, not the shared one)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agora-reload-"));
    try {
      const recipeDir = join(dir, "recipe");
      await cp(BUSYBOX_RECIPE_DIR, recipeDir, { recursive: true });
      const recipe = JSON.parse(await readFile(join(recipeDir, "recipe.json"), "utf8")) as { name: string };
      recipe.name = "busybox-reload-test";
      await writeFile(join(recipeDir, "recipe.json"), JSON.stringify(recipe));
      const builder = new ImageBuilder(new DockerRuntime(), new ImageStore({ root: join(dir, "images") }));
      const first = await builder.build(recipeDir);
      expect(first.cached).toBe(false);
      docker("rmi", "--force", first.imageId);
      const again = await builder.build(recipeDir);
      expect(again).toMatchObject({ cached: true, imageId: first.imageId, hash: first.hash });
      expect(docker("image", "inspect", "--format", "{{.Id}}", first.imageId)).toBe(first.imageId);
      docker("rmi", "--force", first.imageId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
