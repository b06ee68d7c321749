import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortError, SizeLimitError, UnsafeArchiveError } from "../../../../src/errors.js";
import {
  checkLinkTarget,
  packTar,
  readSingleFile,
  repackTar,
  safeEntryName,
  unpackTar,
  type UnpackOptions,
} from "../../../../src/provider/runtime/archive.js";

type Crafted = Partial<tar.Header> & { name: string; body?: string };

/** A tar stream with exactly these headers, however malicious. */
function craft(entries: Crafted[]): Readable {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? "");
  pack.finalize();
  return Readable.from(pack, { objectMode: false });
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function collect(content: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of content) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

async function list(source: Readable, opts: UnpackOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const e of unpackTar(source, opts)) {
    const body = await collect(e.content);
    out.push(`${e.type}:${e.name}${e.linkname ? `->${e.linkname}` : ""}${body ? `=${body}` : ""}`);
  }
  return out;
}

describe("safeEntryName", () => {
  it.each([
    ["a/b.txt", "a/b.txt"],
    ["./a//b/", "a/b"],
    ["dir/", "dir"],
  ])("accepts %s as %s", (name, want) => expect(safeEntryName(name)).toBe(want));

  it.each([
    ["/etc/passwd", /absolute name/],
    ["../x", /\(\.\.\)/],
    ["a/../../x", /\(\.\.\)/],
    ["a/..", /\(\.\.\)/],
    ["", /empty name/],
    ["./", /empty name/],
    ["a\\..\\b", /backslash/],
    ["a\0b", /NUL/],
  ])("refuses %j", (name, why) => {
    expect(() => safeEntryName(name)).toThrow(UnsafeArchiveError);
    expect(() => safeEntryName(name)).toThrow(why);
  });
});

describe("checkLinkTarget", () => {
  it("accepts links that stay inside", () => {
    expect(() => checkLinkTarget("a/l", "symlink", "../b")).not.toThrow();
    expect(() => checkLinkTarget("a/l", "symlink", "c/d")).not.toThrow();
    expect(() => checkLinkTarget("x", "link", "a/b")).not.toThrow();
  });

  it.each([
    ["a/l", "symlink", "../../x", /outside/],
    ["l", "symlink", "/etc/passwd", /absolute path/],
    ["l", "symlink", "..", /outside/],
    ["x", "link", "../y", /outside/],
    ["l", "symlink", "", /empty/],
  ] as const)("refuses %s (%s) -> %j", (name, type, target, why) => {
    expect(() => checkLinkTarget(name, type, target)).toThrow(UnsafeArchiveError);
    expect(() => checkLinkTarget(name, type, target)).toThrow(why);
  });
});

describe("unpackTar", () => {
  const cap = { maxBytes: 1000 };

  it("yields checked entries with their content", async () => {
    const got = await list(
      craft([
        { name: "d", type: "directory" },
        { name: "d/a.txt", body: "A" },
      ]),
      cap,
    );
    expect(got).toEqual(["directory:d", "file:d/a.txt=A"]);
  });

  it.each([
    [
      "a parent-directory name",
      [
        { name: "ok", body: "1" },
        { name: "../evil", body: "x" },
      ],
      /\(\.\.\)/,
    ],
    ["an absolute name", [{ name: "/etc/cron.d/evil", body: "x" }], /absolute name/],
    ["a pax path override", [{ name: "innocent", pax: { path: "../../evil" }, body: "x" }], /\(\.\.\)/],
    ["a symlink", [{ name: "l", type: "symlink", linkname: "x" }], /symbolic link.*refused/],
    ["a hard link", [{ name: "l", type: "link", linkname: "x" }], /hard link.*refused/],
    [
      "a character device",
      [{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }],
      /character-device/,
    ],
    ["a fifo", [{ name: "p", type: "fifo" }], /fifo/],
  ] as [string, Crafted[], RegExp][])("refuses %s with UnsafeArchiveError", async (_what, entries, why) => {
    const err = await list(craft(entries), cap).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(why);
  });

  it("with links: inside, accepts links that stay inside and refuses those that leave", async () => {
    const ok = await list(craft([{ name: "a/l", type: "symlink", linkname: "../b" }]), {
      ...cap,
      links: "inside",
    });
    expect(ok).toEqual(["symlink:a/l->../b"]);
    await expect(
      list(craft([{ name: "a/l", type: "symlink", linkname: "../../etc" }]), { ...cap, links: "inside" }),
    ).rejects.toThrow(/pointing outside/);
    await expect(
      list(craft([{ name: "l", type: "symlink", linkname: "/etc/shadow" }]), { ...cap, links: "inside" }),
    ).rejects.toThrow(/absolute path/);
  });

  it("refuses directories when asked to", async () => {
    await expect(
      list(craft([{ name: "d", type: "directory" }]), { ...cap, allowDirectories: false }),
    ).rejects.toThrow(/is a directory/);
  });

  it("caps the total size before reading an entry's content", async () => {
    const entries = [
      { name: "a", body: "x".repeat(600) },
      { name: "b", body: "y".repeat(600) },
    ];
    const err = await list(craft(entries), cap).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(/limit of 1000 bytes at entry "b" \(600 bytes\)/);
  });

  it("stops with AbortError when its signal fires", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(list(craft([{ name: "a", body: "x" }]), { ...cap, signal: ac.signal })).rejects.toThrow(
      AbortError,
    );
  });
});

describe("readSingleFile", () => {
  it("streams the one file's bytes", async () => {
    const body = "hello".repeat(1000);
    expect(
      (
        await bytes(await readSingleFile(craft([{ name: "f", body }]), { maxBytes: 10_000, name: "f" }))
      ).toString(),
    ).toBe(body);
  });

  it.each([
    ["a directory", [{ name: "d", type: "directory" }], UnsafeArchiveError, /is a directory/],
    [
      "a symlink",
      [{ name: "f", type: "symlink", linkname: "/etc/passwd" }],
      UnsafeArchiveError,
      /symbolic link/,
    ],
    ["nothing", [], UnsafeArchiveError, /holds no file/],
    ["a file over the cap", [{ name: "f", body: "x".repeat(50) }], SizeLimitError, /limit of 10 bytes/],
    ["another name", [{ name: "g", body: "x" }], UnsafeArchiveError, /not the requested "f"/],
  ] as [string, Crafted[], new (message: string) => Error, RegExp][])(
    "refuses %s at once",
    async (_what, entries, cls, why) => {
      const err = await readSingleFile(craft(entries), { maxBytes: 10, name: "f" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(why);
    },
  );

  it("fails the stream when a second entry follows", async () => {
    const stream = await readSingleFile(
      craft([
        { name: "f", body: "1" },
        { name: "g", body: "2" },
      ]),
      { maxBytes: 10 },
    );
    await expect(bytes(stream)).rejects.toThrow(/more than one entry/);
  });
});

describe("packTar", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-archive-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("packs bytes, a host file and a stream, keeping permission bits but not set-uid", async () => {
    const file = join(dir, "f.txt");
    await writeFile(file, "from file");
    const out = packTar([
      { name: "d", type: "directory", mode: 0o750, uid: 1000, gid: 1000 },
      { name: "d/a", type: "file", mode: 0o4755, source: new Uint8Array([65, 66]) },
      { name: "d/b", type: "file", mode: 0o600, source: { file } },
      {
        name: "c",
        type: "file",
        mode: 0o644,
        source: { stream: Readable.from([Buffer.from("str")]) },
        size: 3,
      },
    ]);
    const seen: string[] = [];
    for await (const e of unpackTar(out, { maxBytes: 100 })) {
      const body = await collect(e.content);
      seen.push(`${e.name} ${e.mode.toString(8)} ${body}`);
    }
    expect(seen).toEqual(["d 750 ", "d/a 755 AB", "d/b 600 from file", "c 644 str"]);
  });

  it.each([
    [2, /ended after 3 of its declared 2|longer than its declared 2/],
    [5, /ended after 3 of its declared 5/],
  ])("fails when a stream does not hold its declared %i bytes", async (size, why) => {
    const out = packTar([
      { name: "s", type: "file", mode: 0o644, source: { stream: Readable.from([Buffer.from("abc")]) }, size },
    ]);
    const err = await bytes(out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(why);
  });

  it("refuses unsafe names of its own entries", async () => {
    await expect(
      bytes(packTar([{ name: "../x", type: "file", mode: 0o644, source: new Uint8Array() }])),
    ).rejects.toThrow(UnsafeArchiveError);
  });
});

describe("repackTar", () => {
  it("passes checked entries with the given owner", async () => {
    const out = repackTar(craft([{ name: "a", body: "A", uid: 0, gid: 0 }]), {
      maxBytes: 10,
      owner: { uid: 1000, gid: 1001 },
    });
    const extract = tar.extract();
    out.pipe(extract);
    const owners: string[] = [];
    for await (const e of extract) {
      owners.push(`${e.header.name} ${e.header.uid}:${e.header.gid}`);
      e.resume();
    }
    expect(owners).toEqual(["a 1000:1001"]);
  });

  it("ends its output with the first bad entry's error", async () => {
    const out = repackTar(
      craft([
        { name: "ok", body: "1" },
        { name: "/abs", body: "2" },
      ]),
      { maxBytes: 10 },
    );
    await expect(bytes(out)).rejects.toThrow(/absolute name/);
  });
});
