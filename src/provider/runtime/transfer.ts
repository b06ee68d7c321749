/**
 * Planning file transfers into and out of volumes: which volume each file lands in, which parent
 * directories a walk must check, and what the engine's path stat says. Docker-free.
 */
import { PathOutsideVolumesError } from "../../errors.js";
import type { PackEntry } from "./archive.js";
import { locateInVolumes, parentDirs, type VolumePath } from "./paths.js";
import type { PutFileEntry } from "./types.js";

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
