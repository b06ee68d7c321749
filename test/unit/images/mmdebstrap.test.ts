import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageError } from "../../../src/errors.js";
import { bootstrap, mmdebstrapArgs } from "../../../src/images/mmdebstrap.js";
import { readAll, tempDir } from "./fakes.js";

describe("mmdebstrapArgs", () => {
  it("writes a tar to stdout, without recommends, and only passes dpkg excludes to variants that run dpkg", () => {
    const extract = mmdebstrapArgs({ suite: "bookworm", variant: "extract", packages: ["busybox-static"] });
    expect(extract).toEqual(
      expect.arrayContaining(["--variant=extract", "--format=tar", "--include=busybox-static"]),
    );
    expect(extract.slice(-3)).toEqual(["bookworm", "-", "http://deb.debian.org/debian"]);
    expect(extract.some((a) => a.startsWith("--dpkgopt"))).toBe(false);
    const apt = mmdebstrapArgs({
      suite: "bookworm",
      variant: "apt",
      packages: ["povray", "jq"],
      mirror: "http://m/debian",
    });
    expect(apt).toContain("--include=povray,jq");
    expect(apt).toContain("--dpkgopt=path-exclude=/usr/share/man/*");
    expect(apt).toContain('--aptopt=APT::Install-Recommends "false"');
    expect(apt.at(-1)).toBe("http://m/debian");
  });
});

describe("bootstrap", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.cleanup());

  async function fake(script: string): Promise<string> {
    const path = join(dir.path, "fake-mmdebstrap");
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return path;
  }
  const debian = { suite: "bookworm", variant: "extract" as const, packages: ["x"] };

  it("streams stdout and reports stderr lines", async () => {
    const lines: string[] = [];
    const b = bootstrap(debian, {
      command: await fake("echo I: working >&2; printf tar"),
      onLog: (l) => lines.push(l),
    });
    expect((await readAll(b.tar)).toString()).toBe("tar");
    await b.done;
    expect(lines).toEqual(["I: working"]);
  });

  it("rejects with the exit code and the last log lines when it fails", async () => {
    const b = bootstrap(debian, { command: await fake("echo E: no such package x >&2; exit 1") });
    b.tar.resume();
    await expect(b.done).rejects.toThrow(
      /mmdebstrap failed \(exit code 1\) for bookworm \[x\]:\nE: no such package x/,
    );
  });

  it("says how to install it when it is missing", async () => {
    const b = bootstrap(debian, { command: join(dir.path, "nope") });
    await expect(b.done).rejects.toThrow(ImageError);
    await expect(b.done).rejects.toThrow(/cannot run .*nope.*npm run setup/);
  });

  it("is killed on abort", async () => {
    const ac = new AbortController();
    const b = bootstrap(debian, { command: await fake("exec sleep 30"), signal: ac.signal });
    b.tar.resume();
    ac.abort();
    await expect(b.done).rejects.toThrow(/aborted/);
  });
});
