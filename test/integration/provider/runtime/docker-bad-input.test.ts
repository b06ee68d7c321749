/**
 * Bad inputs against the real engine (issue 2, item 6): each ends in a clear error (class and a
 * message naming the problem) and leaves the host and the container's root filesystem untouched.
 */
import Docker from "dockerode";
import { once } from "node:events";
import { createServer, type AddressInfo, type Server } from "node:net";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AbortError,
  ImageError,
  OutOfMemoryError,
  PathOutsideVolumesError,
  SizeLimitError,
  TimeoutError,
  UnsafeArchiveError,
  UserError,
} from "../../../../src/errors.js";
import type { ContainerInfo } from "../../../../src/provider/runtime/index.js";
import { MiB, TEST_LIMITS, runtimeFixture, type RuntimeFixture } from "./fixture.js";

const docker = new Docker();
let fx: RuntimeFixture;
let c: ContainerInfo;
const extra: string[] = [];

beforeAll(async () => {
  fx = await runtimeFixture();
  c = await fx.up();
});

afterEach(async () => {
  for (const id of extra.splice(0)) await fx.runtime.destroy(id);
});

afterAll(async () => {
  await fx.cleanup();
});

/** Engine events of kind `action` for the shared container since `sinceSec`. */
async function eventsSince(sinceSec: number, action: string): Promise<number> {
  const stream = await docker.getEvents({
    since: sinceSec,
    until: Date.now() / 1000,
    filters: { container: [c.id], event: [action] },
  });
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text.split("\n").filter((l) => l.trim() !== "").length;
}

async function shell(cmd: string): Promise<string> {
  const r = await fx.runtime.exec(c.id, cmd);
  return r.stdout;
}

function tarOf(
  entries: { name: string; body?: string; type?: "file" | "symlink"; linkname?: string }[],
): Readable {
  const pack = tar.pack();
  for (const e of entries)
    if (e.type === "symlink") pack.entry({ name: e.name, type: "symlink", linkname: e.linkname ?? "" });
    else pack.entry({ name: e.name }, e.body ?? "");
  pack.finalize();
  return Readable.from(pack, { objectMode: false });
}

describe("transfer targets outside the volumes", () => {
  it.each([
    ["/etc/passwd", /lies outside the container's volumes/],
    ["/golem/work/../../etc/x", /parent-directory segment/],
    ["golem/work/x", /is not absolute/],
    ["/golem", /lies outside/],
    ["/golem/work", /names a volume itself/],
  ])("putFiles to %s is refused before the engine is asked", async (path, message) => {
    const since = Date.now() / 1000 - 0.5;
    const err = await fx.runtime
      .putFiles(c.id, [{ path, source: Buffer.from("pwned\n") }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathOutsideVolumesError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(JSON.stringify(path));
    expect(await eventsSince(since, "extract-to-dir")).toBe(0);
    expect(await shell("grep -c pwned /etc/passwd || true")).toBe("0\n");
  });

  it("getFile outside the volumes is refused", async () => {
    await expect(fx.runtime.getFile(c.id, "/etc/passwd", { maxBytes: MiB })).rejects.toThrow(
      PathOutsideVolumesError,
    );
  });
});

describe("archives with unsafe entries", () => {
  it.each([
    [
      "a parent-directory name",
      [
        { name: "ok.txt", body: "ok" },
        { name: "../escape.txt", body: "x" },
      ],
      /\(\.\.\)/,
    ],
    ["an absolute name", [{ name: "/abs.txt", body: "x" }], /absolute name/],
    ["a symlink out", [{ name: "link", type: "symlink" as const, linkname: "/etc/passwd" }], /absolute path/],
    [
      "a relative symlink out",
      [{ name: "a/link", type: "symlink" as const, linkname: "../../x" }],
      /outside/,
    ],
  ])(
    "putArchive with %s fails with UnsafeArchiveError and writes nothing outside",
    async (_what, entries, message) => {
      const err = await fx.runtime
        .putArchive(c.id, "/golem/work/unpack", tarOf(entries), { maxBytes: MiB })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect((err as Error).message).toMatch(message);
      expect(await shell("ls /golem/work/escape.txt /golem/escape.txt /abs.txt 2>/dev/null | wc -l")).toBe(
        "0\n",
      );
    },
  );

  it("putArchive over its byte cap fails with SizeLimitError", async () => {
    const err = await fx.runtime
      .putArchive(c.id, "/golem/work/big", tarOf([{ name: "big.txt", body: "x".repeat(5000) }]), {
        maxBytes: 1000,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
  });

  it("a good archive lands with its tree", async () => {
    await fx.runtime.putArchive(
      c.id,
      "/golem/work/tree",
      tarOf([
        { name: "d/a.txt", body: "A" },
        { name: "b.txt", body: "B" },
      ]),
      { maxBytes: MiB },
    );
    expect(await shell("cat /golem/work/tree/d/a.txt /golem/work/tree/b.txt")).toBe("AB");
  });
});

describe("links inside a volume pointing outside", () => {
  it("a download through a symlink to a file outside is refused", async () => {
    await shell("ln -sf /etc/passwd /golem/work/leak");
    const err = await fx.runtime
      .getFile(c.id, "/golem/work/leak", { maxBytes: MiB })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathOutsideVolumesError);
    expect((err as Error).message).toMatch(/is a symbolic link \(to \/etc\/passwd\)/);
  });

  it("a download or upload through a symlinked directory is refused", async () => {
    await shell("ln -sfn /etc /golem/work/etcdir");
    const get = await fx.runtime
      .getFile(c.id, "/golem/work/etcdir/passwd", { maxBytes: MiB })
      .catch((e: unknown) => e);
    expect(get).toBeInstanceOf(PathOutsideVolumesError);
    expect((get as Error).message).toMatch(/passes through the symbolic link \/golem\/work\/etcdir/);
    const put = await fx.runtime
      .putFiles(c.id, [{ path: "/golem/work/etcdir/evil", source: Buffer.from("x") }])
      .catch((e: unknown) => e);
    expect(put).toBeInstanceOf(PathOutsideVolumesError);
    expect(await shell("ls /etc/evil 2>/dev/null | wc -l")).toBe("0\n");
  });
});

describe("aborted transfers", () => {
  it("an upload aborted through its signal fails with AbortError", async () => {
    const ac = new AbortController();
    const endless = new Readable({ read: () => undefined });
    endless.push(Buffer.alloc(64 * 1024));
    setTimeout(() => ac.abort(), 200);
    const err = await fx.runtime
      .putFiles(c.id, [{ path: "/golem/work/aborted.bin", source: { stream: endless, size: 64 * MiB } }], {
        signal: ac.signal,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as Error).message).toMatch(/upload into \/golem\/work was aborted/);
    expect((await fx.runtime.exec(c.id, "echo alive")).stdout).toBe("alive\n");
  });

  it("a download aborted through its signal fails with AbortError", async () => {
    await shell("head -c 20000000 /dev/zero > /golem/output/abort.bin");
    const ac = new AbortController();
    const stream = await fx.runtime.getFile(c.id, "/golem/output/abort.bin", {
      maxBytes: 50 * MiB,
      signal: ac.signal,
    });
    let got = 0;
    const err = await (async () => {
      for await (const chunk of stream) {
        got += (chunk as Buffer).length;
        ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(got).toBeLessThan(20_000_000);
  });
});

describe("downloads", () => {
  it("over maxBytes fail with SizeLimitError naming the size", async () => {
    await shell("head -c 2000000 /dev/zero > /golem/output/big.bin");
    const err = await fx.runtime
      .getFile(c.id, "/golem/output/big.bin", { maxBytes: MiB })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(/2000000 bytes, over the download limit of 1048576/);
  });

  it("of a missing file fail with UserError", async () => {
    await expect(fx.runtime.getFile(c.id, "/golem/output/nope", { maxBytes: MiB })).rejects.toThrow(
      UserError,
    );
  });
});

describe("commands", () => {
  it("past their timeout are killed with their children; the container still answers", async () => {
    const t0 = Date.now();
    const err = await fx.runtime
      .exec(c.id, "sleep 301 & sleep 302; wait", { timeoutMs: 500 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/did not finish within 500 ms; it was killed/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await shell("ps -o args | grep -c '^sleep 30[12]' || true")).toBe("0\n");
    expect((await fx.runtime.exec(c.id, "echo alive")).stdout).toBe("alive\n");
  });

  it("aborted through a signal are killed and fail with AbortError, not TimeoutError", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const err = await fx.runtime
      .exec(c.id, ["sleep", "303"], { signal: ac.signal, timeoutMs: 60_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(await shell("ps -o args | grep -c '^sleep 303' || true")).toBe("0\n");
  });

  it("a fork bomb is held by PidsLimit, killed at its timeout, and the runtime stays responsive", async () => {
    const b = await fx.up({ pidsLimit: 32 });
    extra.push(b.id);
    // The bomb forks forever in the background; `exec sleep` keeps the command itself alive.
    const bomb = fx.runtime.exec(b.id, "f() { while :; do f & done; }; f & exec sleep 300", {
      timeoutMs: 3000,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const stats = await docker.getContainer(b.id).stats({ stream: false });
    expect(stats.pids_stats?.current).toBeLessThanOrEqual(32);
    const t0 = Date.now();
    expect((await fx.runtime.exec(c.id, "echo other")).stdout).toBe("other\n");
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(bomb).rejects.toThrow(TimeoutError);
    expect((await fx.runtime.exec(b.id, "echo survived")).stdout).toBe("survived\n");
    expect(Number(await fx.runtime.exec(b.id, "ps | wc -l").then((r) => r.stdout))).toBeLessThan(10);
  });

  it("a memory hog is reported as out of memory, not a hang; the container still answers", async () => {
    const m = await fx.up({ memoryBytes: 32 * MiB });
    extra.push(m.id);
    const t0 = Date.now();
    const err = await fx.runtime
      .exec(m.id, ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], { timeoutMs: 20_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as Error).message).toMatch(/out-of-memory killer.*32 MiB/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await fx.runtime.exec(m.id, "echo alive")).stdout).toBe("alive\n");
  });
});

describe("isolation", () => {
  let server: Server;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((s) => {
      connections++;
      s.end("hello from the host\n");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });

  afterAll(async () => {
    server.close();
    await once(server, "close");
  });

  it("the container has no network: only lo, no routes, and the host's 127.0.0.1 port is unreachable", async () => {
    const ifaces = await shell("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    expect(ifaces).toBe("lo\n");
    expect(await shell("tail -n +2 /proc/net/route | wc -l")).toBe("0\n");
    const port = (server.address() as AddressInfo).port;
    const r = await fx.runtime.exec(c.id, ["/bin/busybox", "nc", "-w", "2", "127.0.0.1", String(port)], {
      timeoutMs: 10_000,
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain("hello from the host");
    expect(connections).toBe(0);
  });

  it("the root filesystem is read-only", async () => {
    const r = await fx.runtime.exec(c.id, "touch /etc/agora-was-here");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect((await fx.runtime.exec(c.id, "touch /tmp/ok && echo tmp-ok")).stdout).toBe("tmp-ok\n");
  });

  it("the process inside is not root and holds no capabilities", async () => {
    expect(await shell("id -u")).toBe("1000\n");
    const status = await shell("grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status");
    expect(status).toMatch(/CapPrm:\s+0+\n/);
    expect(status).toMatch(/CapEff:\s+0+\n/);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
  });

  it("an image that would run as root is refused at deploy", async () => {
    const tmp = await docker.createContainer({ Image: fx.image, Cmd: ["true"] });
    const rootImages: string[] = [];
    try {
      for (const change of ["USER root", "USER 0:0"]) {
        const { Id } = (await tmp.commit({ changes: change })) as { Id: string };
        rootImages.push(Id);
        const err = await fx.runtime
          .deploy({ image: Id, agentId: fx.agentId, activityId: "root", limits: TEST_LIMITS })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ImageError);
        expect((err as Error).message).toMatch(/would run as root/);
      }
    } finally {
      await tmp.remove({ force: true, v: true });
      for (const id of rootImages) await fx.runtime.removeImage(id);
    }
  });
});
