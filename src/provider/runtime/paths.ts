/**
 * Path rules for transfers (DESIGN §8): a transfer may only touch the container's volumes. Checked
 * on the path text alone, before any engine call.
 */
import { PathOutsideVolumesError } from "../../errors.js";

/** A path split into the volume that holds it and the segments below that volume. */
export interface VolumePath {
  /** The volume's mount point, e.g. `/golem/work`. */
  readonly volume: string;
  /** Segments below the volume, e.g. `["a", "b.txt"]`; empty for the volume itself. */
  readonly segments: readonly string[];
  /** The normalized absolute path. */
  readonly path: string;
}

/**
 * Locate `path` inside one of `volumes`, or throw `PathOutsideVolumesError` naming the problem.
 * Refuses relative paths, `..` and `.` segments, NUL bytes and paths outside every volume.
 * @param allowVolumeRoot accept the volume's mount point itself (a directory download). @default false
 */
export function locateInVolumes(
  path: string,
  volumes: readonly string[],
  allowVolumeRoot = false,
): VolumePath {
  const refuse = (why: string): never => {
    throw new PathOutsideVolumesError(
      `path ${JSON.stringify(path)} ${why}; transfers may only touch the volumes ${volumes.join(", ") || "(none)"}`,
    );
  };
  if (path.includes("\0")) refuse("contains a NUL byte");
  if (!path.startsWith("/")) refuse("is not absolute");
  const parts = path.split("/").filter((s) => s !== "");
  if (parts.some((s) => s === "..")) refuse("contains a parent-directory segment (..)");
  if (parts.some((s) => s === ".")) refuse("contains a '.' segment");
  const normalized = "/" + parts.join("/");
  // The longest matching volume wins (a volume may be mounted inside another).
  const volume = [...volumes]
    .sort((a, b) => b.length - a.length)
    .find((v) => normalized === v || normalized.startsWith(v === "/" ? "/" : v + "/"));
  if (volume === undefined) return refuse("lies outside the container's volumes");
  const segments = normalized === volume ? [] : normalized.slice(volume.length).split("/").filter(Boolean);
  if (segments.length === 0 && !allowVolumeRoot) refuse("names a volume itself, not a file inside it");
  return { volume, segments, path: normalized };
}

/** The parent directories of a file below its volume: `["a", "a/b"]` for `a/b/c.txt`. */
export function parentDirs(segments: readonly string[]): string[] {
  const dirs: string[] = [];
  for (let i = 1; i < segments.length; i++) dirs.push(segments.slice(0, i).join("/"));
  return dirs;
}
