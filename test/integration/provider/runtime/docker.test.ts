/** DockerRuntime against the real engine: the hardened container, transfers, commands, usage, cleanup. */
import Docker from "dockerode";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerInfo } from "../../../../src/provider/runtime/index.js";
import { MiB, TEST_LIMITS, readAll, runtimeFixture, type RuntimeFixture } from "./fixture.js";

const docker = new Docker();
let fx: RuntimeFixture;
let c: ContainerInfo;
let hostDir: string;

beforeAll(async () => {
  fx = await runtimeFixture();
  c = await fx.up();
  hostDir = await mkdtemp(join(tmpdir(), "agora-runtime-"));
});

afterAll(async () => {
  await fx.cleanup();
  await rm(hostDir, { recursive: true, force: true });
});

describe("deploy", () => {
  it("creates the container hardened as DESIGN §8 lists, labelled, with a volume per image volume", async () => {
    const info = await docker.getContainer(c.id).inspect();
    const h = info.HostConfig;
    expect(h.NetworkMode).toBe("none");
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.Privileged).toBe(false);
    expect(h.PidsLimit).toBe(TEST_LIMITS.pidsLimit);
    expect(h.Memory).toBe(TEST_LIMITS.memoryBytes);
    expect(h.MemorySwap).toBe(TEST_LIMITS.memoryBytes);
    expect(h.NanoCpus).toBe(TEST_LIMITS.nanoCpus);
    expect(h.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": String(MiB), "max-file": "1" } });
    expect(h.Tmpfs?.["/tmp"]).toContain(`size=${TEST_LIMITS.tmpfsBytes}`);
    expect(info.Config.Labels["agora.agent"]).toBe(fx.agentId);
    expect(info.Config.Labels["agora.activity"]).toBe(c.activityId);
    const volumes = info.Mounts.filter((m) => m.Type === "volume")
      .map((m) => m.Destination)
      .sort();
    expect(volumes).toEqual(["/golem/output", "/golem/resource", "/golem/work"]);
    expect(c.volumes).toEqual(volumes);
    expect(c.user).toBe("1000:1000");
  });
});

describe("transfers", () => {
  it("puts bytes, a host file and a stream, and gets the same bytes back (exec cat agrees)", async () => {
    const bytes = randomBytes(100_000);
    const fromFile = randomBytes(300_000);
    const fromStream = randomBytes(1_000_000);
    const hostFile = join(hostDir, "in.bin");
    await writeFile(hostFile, fromFile);
    await fx.runtime.putFiles(c.id, [
      { path: "/golem/work/bytes.bin", source: bytes },
      { path: "/golem/resource/deep/er/file.bin", source: { file: hostFile } },
      {
        path: "/golem/output/stream.bin",
        source: { stream: Readable.from([fromStream]), size: fromStream.length },
      },
    ]);
    for (const [path, want] of [
      ["/golem/work/bytes.bin", bytes],
      ["/golem/resource/deep/er/file.bin", fromFile],
      ["/golem/output/stream.bin", fromStream],
    ] as const) {
      const got = await readAll(await fx.runtime.getFile(c.id, path, { maxBytes: 2 * MiB }));
      expect(got.equals(want), path).toBe(true);
      const sum = await fx.runtime.exec(c.id, ["md5sum", path]);
      expect(sum.stdout.split(" ")[0]).toBe(createHash("md5").update(want).digest("hex"));
    }
    const text = "line one\nline two ü\n";
    await fx.runtime.putFiles(c.id, [{ path: "/golem/work/text.txt", source: Buffer.from(text) }]);
    expect((await fx.runtime.exec(c.id, ["cat", "/golem/work/text.txt"])).stdout).toBe(text);
  });

  it("keeps the mode and gives files and created parents to the container's user", async () => {
    await fx.runtime.putFiles(c.id, [
      { path: "/golem/work/m/run.sh", source: Buffer.from("#!/bin/sh\necho ran\n"), mode: 0o755 },
      { path: "/golem/work/m/secret", source: Buffer.from("s"), mode: 0o600 },
    ]);
    const ls = await fx.runtime.exec(
      c.id,
      "stat -c '%a %u:%g %n' /golem/work/m /golem/work/m/run.sh /golem/work/m/secret",
    );
    expect(ls.stdout.trim().split("\n")).toEqual([
      "755 1000:1000 /golem/work/m",
      "755 1000:1000 /golem/work/m/run.sh",
      "600 1000:1000 /golem/work/m/secret",
    ]);
    expect((await fx.runtime.exec(c.id, ["/golem/work/m/run.sh"])).stdout).toBe("ran\n");
  });

  it("downloads a directory as a tar archive only when asked", async () => {
    await fx.runtime.putFiles(c.id, [{ path: "/golem/output/dir/a.txt", source: Buffer.from("a") }]);
    await expect(fx.runtime.getFile(c.id, "/golem/output/dir", { maxBytes: MiB })).rejects.toThrow(
      /is a directory/,
    );
    const tar = await readAll(
      await fx.runtime.getFile(c.id, "/golem/output/dir", { maxBytes: MiB, allowDirectory: true }),
    );
    expect(tar.includes(Buffer.from("dir/a.txt"))).toBe(true);
  });
});

describe("exec", () => {
  it("runs argv and shell strings with env and workdir, returning exit code and both streams", async () => {
    const r = await fx.runtime.exec(c.id, 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3', {
      env: { GREETING: "hello" },
      workdir: "/golem/resource",
    });
    expect(r).toEqual({
      exitCode: 3,
      stdout: "hello from /golem/resource\n",
      stderr: "oops\n",
      truncated: false,
    });
    const argv = await fx.runtime.exec(c.id, ["echo", "a b", "$HOME"]);
    expect(argv.stdout).toBe("a b $HOME\n");
  });

  it("streams output to onOutput and caps what it keeps", async () => {
    const seen: string[] = [];
    const r = await fx.runtime.exec(c.id, "head -c 300000 /dev/zero | tr '\\0' x; echo done >&2", {
      maxOutputBytes: 1000,
      onOutput: (stream, chunk) => seen.push(`${stream}:${chunk.length}`),
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("x".repeat(1000));
    expect(r.stderr).toBe("done\n");
    expect(r.truncated).toBe(true);
    const streamed = seen
      .filter((s) => s.startsWith("stdout:"))
      .reduce((n, s) => n + Number(s.split(":")[1]), 0);
    expect(streamed).toBe(300_000);
  });

  it("caps output at 1 MiB by default", async () => {
    const r = await fx.runtime.exec(c.id, "head -c 3000000 /dev/zero | tr '\\0' y");
    expect(r.stdout.length).toBe(MiB);
    expect(r.truncated).toBe(true);
  });
});

describe("usage", () => {
  it("reports CPU seconds after a busy loop and wall seconds since start", async () => {
    const before = await fx.runtime.usage(c.id);
    await fx.runtime.exec(c.id, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done");
    const after = await fx.runtime.usage(c.id);
    expect(after.cpuSec).toBeGreaterThan(before.cpuSec + 0.1);
    expect(after.durationSec).toBeGreaterThan(0);
    expect(after.durationSec).toBeGreaterThanOrEqual(before.durationSec);
  });
});

describe("destroy and cleanupOrphans", () => {
  it("destroy removes the container and its volumes, and is safe to repeat", async () => {
    const d = await fx.up();
    const names = (await docker.getContainer(d.id).inspect()).Mounts.map((m) => m.Name);
    expect(names).toHaveLength(3);
    await fx.runtime.destroy(d.id);
    await fx.runtime.destroy(d.id);
    await expect(docker.getContainer(d.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const left = await docker.listVolumes({ filters: { label: [`agora.activity=${d.activityId}`] } });
    expect(left.Volumes ?? []).toEqual([]);
  });

  it("cleanupOrphans removes every container and volume of an agent, and nothing else", async () => {
    const orphanFx = await runtimeFixture();
    await orphanFx.up();
    await orphanFx.runtime.deploy({
      image: orphanFx.image,
      agentId: orphanFx.agentId,
      activityId: "never-started",
      limits: TEST_LIMITS,
    });
    expect(await orphanFx.cleanup()).toBe(2);
    const filters = { label: [`agora.agent=${orphanFx.agentId}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    expect((await fx.runtime.exec(c.id, "true")).exitCode).toBe(0);
  });
});
