import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecipeError } from "../../../src/images/errors.js";
import { loadRecipe, parseRecipe } from "../../../src/images/recipe.js";
import { tempDir } from "./fakes.js";

const minimal = {
  name: "tiny",
  debian: { suite: "bookworm", variant: "extract", packages: ["busybox-static"] },
  user: { name: "agora", uid: 1000, gid: 1000 },
};

function withField(path: string[], value: unknown): string {
  const copy = JSON.parse(JSON.stringify(minimal)) as Record<string, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[path.at(-1)!] = value;
  return JSON.stringify(copy);
}

describe("parseRecipe", () => {
  it("fills defaults and turns octal mode strings into numbers", () => {
    const r = parseRecipe(
      JSON.stringify({ ...minimal, files: [{ src: "a.sh", dest: "/golem/entrypoints/a.sh", mode: "0755" }] }),
    );
    expect(r.files[0]?.mode).toBe(0o755);
    expect(r).toMatchObject({ volumes: [], symlinks: [], env: {}, entrypoints: [] });
  });

  it.each([
    [["user", "uid"], 0, "user.uid: must not be 0"],
    [["debian", "variant"], "fast", "debian.variant"],
    [["debian", "packages"], [], "debian.packages"],
    [["debian", "packages"], ["Bad Name"], "debian.packages.0: must be a Debian package name"],
    [["volumes"], ["golem/work"], "volumes.0: must be an absolute path"],
    [["volumes"], ["/golem/../etc"], "volumes.0: must not contain '..'"],
    [["files"], [{ src: "../x", dest: "/x" }], "files.0.src: must be a relative path inside files/"],
    [["files"], [{ src: "x", dest: "/x", mode: "999" }], "files.0.mode"],
    [["env"], { "BAD-NAME": "x" }, "env.BAD-NAME"],
    [["colour"], "blue", "colour"],
  ])("names the bad field %j", (path, value, expected) => {
    expect(() => parseRecipe(withField(path, value))).toThrow(RecipeError);
    expect(() => parseRecipe(withField(path, value))).toThrow(expected);
  });

  it("refuses text that is not JSON, saying so", () => {
    expect(() => parseRecipe("{ name: tiny", "x/recipe.json")).toThrow("x/recipe.json is not valid JSON");
  });
});

describe("loadRecipe", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, "files"));
    await writeFile(join(dir.path, "files", "run.sh"), "#!/bin/sh\necho hi\n");
    await writeFile(
      join(dir.path, "recipe.json"),
      JSON.stringify({ ...minimal, entrypoints: [{ name: "run", src: "run.sh" }] }),
    );
  });
  afterEach(() => dir.cleanup());

  it("parses the busybox recipe of this repository", async () => {
    const busybox = fileURLToPath(new URL("../../../images/busybox", import.meta.url));
    const { recipe, key } = await loadRecipe(busybox);
    expect(recipe.user.uid).not.toBe(0);
    expect(recipe.volumes).toEqual(["/golem/work", "/golem/resource", "/golem/output"]);
    expect(recipe.symlinks.flatMap((s) => s.paths)).toContain("/bin/sh");
    expect(key).toMatch(/^recipe-[0-9a-f]{64}$/);
  });

  it("gives a stable key that changes with file content and with mode bits", async () => {
    const a = (await loadRecipe(dir.path)).key;
    expect((await loadRecipe(dir.path)).key).toBe(a);
    await chmod(join(dir.path, "files", "run.sh"), 0o755);
    const b = (await loadRecipe(dir.path)).key;
    expect(b).not.toBe(a);
    await writeFile(join(dir.path, "files", "run.sh"), "#!/bin/sh\necho bye\n");
    await chmod(join(dir.path, "files", "run.sh"), 0o755);
    expect((await loadRecipe(dir.path)).key).not.toBe(b);
  });

  it("names files the recipe needs but files/ lacks", async () => {
    await writeFile(
      join(dir.path, "recipe.json"),
      JSON.stringify({ ...minimal, files: [{ src: "missing.txt", dest: "/etc/x" }] }),
    );
    await expect(loadRecipe(dir.path)).rejects.toThrow(/names files missing from .*: missing\.txt/);
  });

  it("says when the folder is not a recipe", async () => {
    await expect(loadRecipe(join(dir.path, "nope"))).rejects.toThrow(
      /cannot read .*recipe\.json: is .* a recipe folder/,
    );
  });
});
