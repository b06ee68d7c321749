import { Readable } from "node:stream";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { PathOutsideVolumesError, SizeLimitError, UserError } from "../../../../src/errors.js";
import {
  getFile,
  parsePathStat,
  putFiles,
  type ArchiveEngine,
  type PathStat,
} from "../../../../src/provider/runtime/transfer.js";

const TARGET = { volumes: ["/golem/work", "/golem/output"], uid: 1000, gid: 1000 };

/** A hand-written engine over a map of path → stat; records every call. */
class FakeArchives implements ArchiveEngine {
  readonly calls: string[] = [];
  readonly puts: { dir: string; names: string[] }[] = [];
  constructor(readonly stats: Record<string, PathStat> = {}) {}

  async stat(path: string) {
    this.calls.push(`stat ${path}`);
    return this.stats[path];
  }

  async put(dir: string, archive: Readable) {
    this.calls.push(`put ${dir}`);
    const extract = tar.extract();
    archive.pipe(extract);
    const names: string[] = [];
    for await (const e of extract) {
      names.push(`${e.header.type}:${e.header.name}:${e.header.uid}`);
      e.resume();
    }
    this.puts.push({ dir, names });
  }

  async get(path: string) {
    this.calls.push(`get ${path}`);
    const pack = tar.pack();
    pack.entry({ name: path.split("/").pop() ?? "" }, "content");
    pack.finalize();
    return Readable.from(pack, { objectMode: false });
  }
}

const dir = (name: string): PathStat => ({ name, size: 4096, kind: "directory", linkTarget: "" });
const link = (name: string, to: string): PathStat => ({ name, size: 0, kind: "symlink", linkTarget: to });
const file = (name: string, size: number): PathStat => ({ name, size, kind: "file", linkTarget: "" });

describe("putFiles", () => {
  it("refuses a path outside the volumes before any engine call", async () => {
    const engine = new FakeArchives();
    const entries = [
      { path: "/golem/work/ok", source: Buffer.from("x") },
      { path: "/golem/work/../../etc/x", source: Buffer.from("x") },
    ];
    await expect(putFiles(engine, TARGET, entries)).rejects.toThrow(PathOutsideVolumesError);
    expect(engine.calls).toEqual([]);
  });

  it("creates missing parents owned by the container's user, one archive per volume", async () => {
    const engine = new FakeArchives({ "/golem/work/a": dir("a") });
    await putFiles(engine, TARGET, [
      { path: "/golem/work/a/b/c.txt", source: Buffer.from("x") },
      { path: "/golem/output/o.txt", source: Buffer.from("y") },
    ]);
    expect(engine.puts).toEqual([
      { dir: "/golem/work", names: ["directory:a/b:1000", "file:a/b/c.txt:1000"] },
      { dir: "/golem/output", names: ["file:o.txt:1000"] },
    ]);
  });

  it("refuses a parent that is a symbolic link", async () => {
    const engine = new FakeArchives({ "/golem/work/etc": link("etc", "/etc") });
    const err = await putFiles(engine, TARGET, [
      { path: "/golem/work/etc/x", source: Buffer.from("x") },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathOutsideVolumesError);
    expect((err as Error).message).toMatch(
      /passes through the symbolic link \/golem\/work\/etc \(to \/etc\)/,
    );
    expect(engine.calls.some((c) => c.startsWith("put"))).toBe(false);
  });
});

describe("getFile", () => {
  it("streams a file's content", async () => {
    const engine = new FakeArchives({ "/golem/output/r.txt": file("r.txt", 7) });
    const chunks: Buffer[] = [];
    for await (const c of await getFile(engine, TARGET, "/golem/output/r.txt", { maxBytes: 100 }))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("content");
  });

  it.each([
    [{}, UserError, /does not exist/],
    [{ "/golem/output/r.txt": link("r.txt", "/etc/passwd") }, PathOutsideVolumesError, /is a symbolic link/],
    [{ "/golem/output/r.txt": dir("r.txt") }, UserError, /is a directory/],
    [
      { "/golem/output/r.txt": file("r.txt", 101) },
      SizeLimitError,
      /101 bytes, over the download limit of 100/,
    ],
  ] as [Record<string, PathStat>, new (m: string) => Error, RegExp][])(
    "refuses before downloading (%#)",
    async (stats, cls, why) => {
      const engine = new FakeArchives(stats);
      const err = await getFile(engine, TARGET, "/golem/output/r.txt", { maxBytes: 100 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(why);
      expect(engine.calls.some((c) => c.startsWith("get"))).toBe(false);
    },
  );
});

describe("parsePathStat", () => {
  const header = (o: object): string => Buffer.from(JSON.stringify(o)).toString("base64");

  it("reads the engine's Go file modes", () => {
    expect(parsePathStat(header({ name: "f", size: 3, mode: 0o644 })).kind).toBe("file");
    expect(parsePathStat(header({ name: "d", size: 0, mode: 2 ** 31 + 0o755 })).kind).toBe("directory");
    expect(parsePathStat(header({ name: "l", mode: 2 ** 27 + 0o777, linkTarget: "/etc" }))).toEqual({
      name: "l",
      size: 0,
      kind: "symlink",
      linkTarget: "/etc",
    });
    expect(parsePathStat(header({ name: "p", mode: 2 ** 25 + 0o644 })).kind).toBe("other");
  });
});
