/**
 * File transfers into and out of volumes, Docker-free: which volume each file lands in, the walk
 * that refuses paths through symbolic links, the archive checks, and what the engine's path stat
 * says. docker.ts supplies the engine operations as an `ArchiveEngine`.
 */
import type { Readable } from "node:stream";
import { PathOutsideVolumesError, SizeLimitError, UserError } from "../../errors.js";
import { packTar, readSingleFile, repackTar, type PackEntry } from "./archive.js";
import { locateInVolumes, parentDirs, type VolumePath } from "./paths.js";
import type { GetFileOptions, PutArchiveOptions, PutFileEntry } from "./types.js";

/** What transfers need from the engine, for one container. */
export interface ArchiveEngine {
  /** The path's stat (links not followed), or undefined when it does not exist. */
  stat(path: string, signal?: AbortSignal): Promise<PathStat | undefined>;
  /** Extract a tar stream into the directory `dir`. */
  put(dir: string, tar: Readable, what: string, signal?: AbortSignal): Promise<void>;
  /** The engine's tar stream of `path`. */
  get(path: string, signal?: AbortSignal): Promise<Readable>;
}

/** The container facts transfers need. */
export interface TransferTarget {
  readonly volumes: readonly string[];
  readonly uid: number;
  readonly gid: number;
}

export async function putFiles(
  engine: ArchiveEngine,
  target: TransferTarget,
  entries: readonly PutFileEntry[],
  signal?: AbortSignal,
): Promise<void> {
  // Every path is checked before the engine is asked anything about this transfer.
  const uploads = planUpload(entries, target.volumes);
  signal?.throwIfAborted();
  const owner = { uid: target.uid, gid: target.gid };
  for (const upload of uploads) {
    const first = upload.files[0]?.entry.path ?? upload.volume;
    const existing = await checkDirs(engine, first, upload.parents, signal);
    const tar = packTar(uploadEntries(upload, existing, owner), signal);
    await engine.put(upload.volume, tar, `upload into ${upload.volume}`, signal);
  }
}

export async function putArchive(
  engine: ArchiveEngine,
  target: TransferTarget,
  dir: string,
  archive: Readable,
  opts: PutArchiveOptions,
): Promise<void> {
  const at = locateInVolumes(dir, target.volumes, true);
  const owner = { uid: target.uid, gid: target.gid };
  const dirs = prefixes(at);
  const existing = await checkDirs(engine, at.path, dirs, opts.signal);
  const missing: PackEntry[] = dirs
    .filter((d) => !existing.has(d))
    .map((d) => ({ name: d.slice(at.volume.length + 1), type: "directory", mode: 0o755, ...owner }));
  if (missing.length > 0)
    await engine.put(at.volume, packTar(missing, opts.signal), `creating ${at.path}`, opts.signal);
  const checked = repackTar(archive, {
    maxBytes: opts.maxBytes,
    links: "inside",
    owner,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await engine.put(at.path, checked, `archive upload into ${at.path}`, opts.signal);
}

export async function getFile(
  engine: ArchiveEngine,
  target: TransferTarget,
  path: string,
  opts: GetFileOptions,
): Promise<Readable> {
  const at = locateInVolumes(path, target.volumes, opts.allowDirectory ?? false);
  const parents = prefixes(at).slice(0, -1);
  const existing = await checkDirs(engine, at.path, parents, opts.signal);
  const stat = existing.size === parents.length ? await engine.stat(at.path, opts.signal) : undefined;
  if (!stat) throw new UserError(`${at.path} does not exist in the container`);
  if (stat.kind === "symlink") refuseLink(at, at.path, stat);
  if (stat.kind === "other") throw new UserError(`${at.path} is not a regular file`);
  if (stat.kind === "directory" && !opts.allowDirectory)
    throw new UserError(`${at.path} is a directory; pass allowDirectory to download it as a tar archive`);
  if (stat.kind === "file" && stat.size > opts.maxBytes)
    throw new SizeLimitError(
      `${at.path} holds ${stat.size} bytes, over the download limit of ${opts.maxBytes} bytes`,
    );
  const res = await engine.get(at.path, opts.signal);
  const limits = { maxBytes: opts.maxBytes, ...(opts.signal ? { signal: opts.signal } : {}) };
  if (stat.kind === "directory") return repackTar(res, { ...limits, links: "inside" });
  return readSingleFile(res, { ...limits, name: stat.name });
}

/** `/v/a`, `/v/a/b`, … for every segment of a path below its volume. */
function prefixes(at: VolumePath): string[] {
  return at.segments.map((_, i) => `${at.volume}/${at.segments.slice(0, i + 1).join("/")}`);
}

/**
 * Check directories from shallow to deep and return the existing ones, stopping at the first
 * missing; a symbolic link on the way refuses the transfer to `target`.
 */
async function checkDirs(
  engine: ArchiveEngine,
  target: string,
  dirs: readonly string[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const existing = new Set<string>();
  for (const dir of dirs) {
    const stat = await engine.stat(dir, signal);
    if (!stat) break;
    if (stat.kind === "symlink") refuseLink(target, dir, stat);
    if (stat.kind !== "directory")
      throw new UserError(`${dir} exists in the container and is not a directory`);
    existing.add(dir);
  }
  return existing;
}

/** The files bound for one volume, as archive entries relative to the volume's root. */
export interface VolumeUpload {
  readonly volume: string;
  /** Absolute paths of the parent directories to check (deepest last), e.g. `/golem/work/a`. */
  readonly parents: readonly string[];
  readonly files: readonly { readonly relative: string; readonly entry: PutFileEntry }[];
}

/** Group `entries` by volume; throws `PathOutsideVolumesError` for the first path outside them. */
export function planUpload(entries: readonly PutFileEntry[], volumes: readonly string[]): VolumeUpload[] {
  const located = entries.map((entry) => ({ entry, at: locateInVolumes(entry.path, volumes) }));
  const byVolume = new Map<
    string,
    { parents: Set<string>; files: { relative: string; entry: PutFileEntry }[] }
  >();
  for (const { entry, at } of located) {
    const group = byVolume.get(at.volume) ?? { parents: new Set<string>(), files: [] };
    byVolume.set(at.volume, group);
    for (const dir of parentDirs(at.segments)) group.parents.add(dir);
    group.files.push({ relative: at.segments.join("/"), entry });
  }
  return [...byVolume].map(([volume, g]) => ({
    volume,
    parents: [...g.parents]
      .sort((a, b) => a.split("/").length - b.split("/").length)
      .map((d) => `${volume}/${d}`),
    files: g.files,
  }));
}

/** The archive entries for one upload: the missing parent directories, then the files. */
export function uploadEntries(
  upload: VolumeUpload,
  existing: ReadonlySet<string>,
  owner: { readonly uid: number; readonly gid: number },
): PackEntry[] {
  const dirs: PackEntry[] = upload.parents
    .filter((p) => !existing.has(p))
    .map((p) => ({ name: p.slice(upload.volume.length + 1), type: "directory", mode: 0o755, ...owner }));
  const files: PackEntry[] = upload.files.map(({ relative, entry }) => {
    const base = { name: relative, type: "file" as const, mode: entry.mode ?? 0o644, ...owner };
    const s = entry.source;
    if (s instanceof Uint8Array) return { ...base, source: s };
    if ("file" in s) return { ...base, source: { file: s.file } };
    return { ...base, source: { stream: s.stream }, size: s.size };
  });
  return [...dirs, ...files];
}

/** What the engine reports about a path (its `X-Docker-Container-Path-Stat` header). */
export interface PathStat {
  readonly name: string;
  readonly size: number;
  readonly kind: "file" | "directory" | "symlink" | "other";
  /** For a symlink: its target, resolved inside the container. */
  readonly linkTarget: string;
}

/** Go's os.FileMode bits, as the engine encodes them. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
/** Dir, symlink, device, named pipe, socket, char device, irregular. */
const MODE_TYPE = MODE_DIR | MODE_SYMLINK | (2 ** 26) | (2 ** 25) | (2 ** 24) | (2 ** 21) | (2 ** 19);

export function parsePathStat(headerValue: string): PathStat {
  const raw = JSON.parse(Buffer.from(headerValue, "base64").toString("utf8")) as {
    name?: string;
    size?: number;
    mode?: number;
    linkTarget?: string;
  };
  const mode = raw.mode ?? 0;
  const kind =
    mode >= MODE_DIR
      ? "directory"
      : (mode & MODE_SYMLINK) !== 0
        ? "symlink"
        : (mode & MODE_TYPE) !== 0
          ? "other"
          : "file";
  return { name: raw.name ?? "", size: raw.size ?? 0, kind, linkTarget: raw.linkTarget ?? "" };
}

/** Refuse a path that passes through (or is) a symbolic link: transfers never follow links. */
export function refuseLink(path: VolumePath | string, at: string, stat: PathStat): never {
  const p = typeof path === "string" ? path : path.path;
  throw new PathOutsideVolumesError(
    at === p
      ? `path ${JSON.stringify(p)} is a symbolic link (to ${stat.linkTarget || "?"}); transfers do not follow links`
      : `path ${JSON.stringify(p)} passes through the symbolic link ${at} (to ${stat.linkTarget || "?"}); transfers do not follow links`,
  );
}
