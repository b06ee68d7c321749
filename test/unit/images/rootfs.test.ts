import { Readable } from "node:stream";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { RecipeError } from "../../../src/images/errors.js";
import { assembleRootfs, isExcluded, normalizeTarPath, type RootfsPlan } from "../../../src/images/rootfs.js";
import { readAll } from "./fakes.js";

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function makeTar(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) {
    if (body === undefined) pack.entry(header);
    else pack.entry(header, body);
  }
  pack.finalize();
  return readAll(pack);
}

interface Out {
  header: tar.Header;
  body: string;
}

async function readTar(stream: Readable): Promise<Map<string, Out>> {
  const out = new Map<string, Out>();
  const extract = tar.extract();
  stream.on("error", (err) => extract.destroy(err));
  stream.pipe(extract);
  for await (const entry of extract) {
    out.set(normalizeTarPath(entry.header.name), {
      header: entry.header,
      body: (await readAll(entry)).toString(),
    });
  }
  return out;
}

const plan: RootfsPlan = {
  user: { name: "agora", uid: 1000, gid: 1000, home: "/golem/work", shell: "/bin/sh" },
  entries: [
    { path: "/golem/work", type: "directory", mode: 0o755, uid: 1000, gid: 1000 },
    { path: "/bin/sh", type: "symlink", mode: 0o777, uid: 0, gid: 0, target: "busybox" },
    {
      path: "/golem/entrypoints/run",
      type: "file",
      mode: 0o755,
      uid: 0,
      gid: 0,
      content: Buffer.from("#!/bin/sh\n"),
    },
  ],
};

const base: Entry[] = [
  { name: "./", type: "directory" },
  { name: "./bin/", type: "directory" },
  { name: "./bin/busybox", type: "file", mode: 0o755, body: "ELF" },
  { name: "./bin/sh", type: "file", mode: 0o755, body: "old sh" },
  { name: "./usr/share/doc/busybox/README", type: "file", body: "docs" },
  { name: "./usr/share/doc/busybox/copyright", type: "file", body: "GPL" },
  { name: "./usr/share/man/man1/x.1.gz", type: "file", body: "man" },
  { name: "./dev/", type: "directory" },
  { name: "./dev/null", type: "character-device", devmajor: 1, devminor: 3 },
];

describe("assembleRootfs", () => {
  it("drops docs, man pages and device nodes, keeps copyright files, and adds the recipe's entries", async () => {
    const out = await readTar(assembleRootfs(Readable.from([await makeTar(base)]), Promise.resolve(), plan));
    expect(out.has("/usr/share/doc/busybox/README")).toBe(false);
    expect(out.has("/usr/share/man/man1/x.1.gz")).toBe(false);
    expect(out.has("/dev/null")).toBe(false);
    expect(out.get("/usr/share/doc/busybox/copyright")?.body).toBe("GPL");
    expect(out.get("/bin/busybox")?.body).toBe("ELF");
    expect(out.get("/bin/sh")?.header).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(out.get("/golem/work")?.header).toMatchObject({
      type: "directory",
      uid: 1000,
      gid: 1000,
      mode: 0o755,
    });
    expect(out.get("/golem")?.header).toMatchObject({ type: "directory", uid: 0 });
    expect(out.get("/golem/entrypoints/run")?.header).toMatchObject({ type: "file", mode: 0o755, uid: 0 });
  });

  it("writes /etc/passwd and /etc/group with root and the non-root user when the base has none", async () => {
    const out = await readTar(assembleRootfs(Readable.from([await makeTar(base)]), Promise.resolve(), plan));
    expect(out.get("/etc/passwd")?.body).toBe(
      "root:x:0:0:root:/root:/bin/sh\nagora:x:1000:1000:agora:/golem/work:/bin/sh\n",
    );
    expect(out.get("/etc/group")?.body).toBe("root:x:0:\nagora:x:1000:\n");
  });

  it("appends the user to the base's /etc/passwd and refuses a clash", async () => {
    const passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n";
    const withPasswd = [...base, { name: "./etc/passwd", type: "file" as const, body: passwd }];
    const out = await readTar(
      assembleRootfs(Readable.from([await makeTar(withPasswd)]), Promise.resolve(), plan),
    );
    expect(out.get("/etc/passwd")?.body).toBe(`${passwd}agora:x:1000:1000:agora:/golem/work:/bin/sh\n`);

    const clash = [
      ...base,
      {
        name: "./etc/passwd",
        type: "file" as const,
        body: "root:x:0:0::/:/bin/sh\nbob:x:1000:1000::/:/bin/sh\n",
      },
    ];
    const stream = assembleRootfs(Readable.from([await makeTar(clash)]), Promise.resolve(), plan);
    await expect(readTar(stream)).rejects.toThrow(RecipeError);
  });

  it("places entries through a merged-usr /bin symlink into /usr/bin", async () => {
    const merged: Entry[] = [
      { name: "./", type: "directory" },
      { name: "./usr/", type: "directory" },
      { name: "./usr/bin/", type: "directory" },
      { name: "./bin", type: "symlink", linkname: "usr/bin" },
    ];
    const out = await readTar(
      assembleRootfs(Readable.from([await makeTar(merged)]), Promise.resolve(), plan),
    );
    expect(out.get("/usr/bin/sh")?.header).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(out.get("/bin")?.header.type).toBe("symlink");
  });

  it("fails the stream (not finishes it) when the producer of the base failed", async () => {
    const failed = Promise.reject(new Error("mmdebstrap failed (exit code 1)"));
    failed.catch(() => undefined);
    const stream = assembleRootfs(Readable.from([await makeTar(base)]), failed, plan);
    await expect(readTar(stream)).rejects.toThrow("mmdebstrap failed");
  });
});

describe("isExcluded", () => {
  it.each([
    ["/usr/share/doc/x/changelog.gz", true],
    ["/usr/share/doc/x/copyright", false],
    ["/usr/share/locale/de/LC_MESSAGES/x.mo", true],
    ["/usr/bin/povray", false],
    ["/dev/null", true],
  ])("%s → %s", (path, excluded) => expect(isExcluded(path)).toBe(excluded));
});
