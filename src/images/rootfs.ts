/**
 * Assemble an image root filesystem as one tar stream: mmdebstrap's tar passes through (minus
 * docs, man pages, locales and device nodes), then the recipe's users, folders, files and links
 * are appended with their modes and owners.
 */
import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import tar from "tar-stream";
import type { Recipe } from "./recipe.js";
import { RecipeError } from "./errors.js";

/** One entry the recipe adds to the root filesystem. */
export interface RootfsEntry {
  readonly path: string;
  readonly type: "file" | "directory" | "symlink";
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content?: Buffer;
  readonly target?: string;
}

export interface RootfsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

export interface RootfsPlan {
  readonly entries: readonly RootfsEntry[];
  readonly user: RootfsUser;
}

/** Folders whose files are dropped from the base tree (their folders stay; Debian copyright files stay). */
const EXCLUDED_DIRS = [
  "/usr/share/doc",
  "/usr/share/man",
  "/usr/share/info",
  "/usr/share/locale",
  "/usr/share/lintian",
  "/usr/share/linda",
  "/usr/share/bug",
  "/var/cache/apt",
  "/var/lib/apt/lists",
  "/dev",
];

/** True when a non-directory base entry at `path` is left out of the image. */
export function isExcluded(path: string): boolean {
  if (path.startsWith("/usr/share/doc/") && posix.basename(path) === "copyright") return false;
  return EXCLUDED_DIRS.some((d) => path.startsWith(`${d}/`));
}

/** The paths (outside `/`) the `dpkg` path-exclude options should skip, for variants that run dpkg. */
export const DPKG_PATH_EXCLUDES = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/locale/*",
  "path-exclude=/usr/share/lintian/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
];

/** Turn a recipe into the entries it adds (reading its files from `<dir>/files`). */
export async function planRootfs(dir: string, recipe: Recipe): Promise<RootfsPlan> {
  const { uid, gid } = recipe.user;
  const entries = new Map<string, RootfsEntry>();
  const add = (e: RootfsEntry): void => {
    if (entries.has(e.path)) throw new RecipeError(`recipe.json places two things at ${e.path}`);
    entries.set(e.path, e);
  };
  for (const v of recipe.volumes) add({ path: v, type: "directory", mode: 0o755, uid, gid });
  for (const f of recipe.files) {
    const content = await readFile(join(dir, "files", f.src));
    const own = f.owner === "user";
    add({
      path: f.dest,
      type: "file",
      mode: f.mode ?? 0o644,
      uid: own ? uid : 0,
      gid: own ? gid : 0,
      content,
    });
  }
  for (const e of recipe.entrypoints) {
    const content = await readFile(join(dir, "files", e.src));
    add({ path: `/golem/entrypoints/${e.name}`, type: "file", mode: 0o755, uid: 0, gid: 0, content });
  }
  for (const s of recipe.symlinks)
    for (const p of s.paths) add({ path: p, type: "symlink", mode: 0o777, uid: 0, gid: 0, target: s.target });
  return {
    entries: [...entries.values()],
    user: {
      name: recipe.user.name,
      uid,
      gid,
      home: recipe.user.home ?? "/tmp",
      shell: recipe.user.shell ?? "/bin/sh",
    },
  };
}

/** `./bin/sh/` → `/bin/sh`; `./` → `/`. */
export function normalizeTarPath(name: string): string {
  const p = posix.normalize(`/${name}`);
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/**
 * Pass `base` (a rootfs tar) through, merged with `plan`. `baseDone` settles when the producer of
 * `base` has exited; a failed producer fails the output stream instead of finishing it.
 */
export function assembleRootfs(base: Readable, baseDone: Promise<void>, plan: RootfsPlan): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const pack = tar.pack();
  pack.on("error", (err: Error) => out.destroy(err));
  pack.pipe(out);
  merge(base, baseDone, plan, pack).catch((err: unknown) => {
    base.destroy();
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return out;
}

async function merge(
  base: Readable,
  baseDone: Promise<void>,
  plan: RootfsPlan,
  pack: tar.Pack,
): Promise<void> {
  const replaced = new Set(plan.entries.map((e) => e.path));
  replaced.add("/etc/passwd");
  replaced.add("/etc/group");
  const dirs = new Set<string>(["/"]);
  const links = new Map<string, string>();
  const dropped = new Set<string>();
  let passwd = "";
  let group = "";

  const extract = tar.extract();
  base.on("error", (err) => extract.destroy(err));
  // A producer that dies mid-stream may close its stdout without an error: its exit status decides.
  baseDone.catch((err: unknown) => extract.destroy(err instanceof Error ? err : new Error(String(err))));
  base.pipe(extract);
  for await (const entry of extract) {
    const header = entry.header;
    const path = normalizeTarPath(header.name);
    if (header.type === "directory") dirs.add(path);
    if (header.type === "symlink" && header.linkname) links.set(path, header.linkname);
    const linkTarget =
      header.type === "link" && header.linkname ? normalizeTarPath(header.linkname) : undefined;
    if (path === "/etc/passwd" || path === "/etc/group") {
      const text = (await collect(entry)).toString("utf8");
      if (path === "/etc/passwd") passwd = text;
      else group = text;
      continue;
    }
    const drop =
      (header.type !== "directory" && (replaced.has(path) || isExcluded(path))) ||
      (linkTarget !== undefined && dropped.has(linkTarget));
    if (drop) {
      dropped.add(path);
      entry.resume();
      continue;
    }
    await putEntry(pack, header, entry);
  }
  await baseDone;

  const resolveDir = (p: string): string => resolveParents(p, links);
  const ensureParents = async (p: string): Promise<void> => {
    const parts = posix.dirname(p).split("/").filter(Boolean);
    let cur = "";
    for (const part of parts) {
      cur = resolveDir(`${cur}/${part}`);
      if (dirs.has(cur)) continue;
      dirs.add(cur);
      await putEntry(pack, {
        name: `.${cur}`,
        type: "directory",
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: new Date(),
      });
    }
  };
  const { user } = plan;
  const files: RootfsEntry[] = [
    {
      path: "/etc/passwd",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: Buffer.from(withUser(passwd, user)),
    },
    {
      path: "/etc/group",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: Buffer.from(withGroup(group, user)),
    },
    ...[...plan.entries].sort((a, b) => a.path.localeCompare(b.path)),
  ];
  for (const e of files) {
    const path = resolveDir(e.path);
    await ensureParents(path);
    if (e.type === "directory") dirs.add(path);
    const header: EntryHeader = {
      name: `.${path}`,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: new Date(),
      ...(e.type === "symlink" ? { linkname: e.target ?? "" } : {}),
      ...(e.content ? { size: e.content.length } : {}),
    };
    await putEntry(pack, header, e.content);
  }
  pack.finalize();
}

/** Rewrite `p` so no parent of it goes through a symlink of the base tree (e.g. merged-usr `/bin`). */
function resolveParents(p: string, links: ReadonlyMap<string, string>): string {
  for (let guard = 0; guard < 40; guard++) {
    const parts = p.split("/").filter(Boolean);
    let changed = false;
    for (let i = 1; i < parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join("/")}`;
      const target = links.get(prefix);
      if (target === undefined) continue;
      const resolved = target.startsWith("/") ? target : posix.join(posix.dirname(prefix), target);
      p = posix.join(resolved, ...parts.slice(i));
      changed = true;
      break;
    }
    if (!changed) return p;
  }
  throw new RecipeError(`too many symlinks while resolving ${p} in the base tree`);
}

function withUser(passwd: string, u: RootfsUser): string {
  const lines = passwd.split("\n").filter(Boolean);
  if (!lines.some((l) => l.startsWith("root:"))) lines.unshift("root:x:0:0:root:/root:/bin/sh");
  const clash = lines.find((l) => l.startsWith(`${u.name}:`) || l.split(":")[2] === String(u.uid));
  if (clash)
    throw new RecipeError(
      `user ${u.name} (uid ${u.uid}) clashes with the base tree's ${JSON.stringify(clash)}`,
    );
  lines.push(`${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:${u.shell}`);
  return `${lines.join("\n")}\n`;
}

function withGroup(group: string, u: RootfsUser): string {
  const lines = group.split("\n").filter(Boolean);
  if (!lines.some((l) => l.startsWith("root:"))) lines.unshift("root:x:0:");
  if (!lines.some((l) => l.split(":")[2] === String(u.gid))) lines.push(`${u.name}:x:${u.gid}:`);
  return `${lines.join("\n")}\n`;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) if (Buffer.isBuffer(c)) chunks.push(c);
  return Buffer.concat(chunks);
}

type EntryHeader = Partial<tar.Header> & { name: string };
/** One entry's body as tar-stream's extractor yields it. */
type TarSource = tar.Extract extends AsyncIterable<infer S> ? S : never;

function putEntry(pack: tar.Pack, header: EntryHeader, body?: TarSource | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body === undefined) {
      pack.entry(header, done);
      return;
    }
    if (Buffer.isBuffer(body)) {
      pack.entry(header, body, done);
      return;
    }
    body.pipe(pack.entry(header, done));
  });
}
