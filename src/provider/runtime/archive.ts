/**
 * Tar streams in and out of containers (DESIGN §8), with path safety: no absolute names, no `..`,
 * no links out of the archive's root, sizes capped while streaming. Docker-free.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { posix } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { AbortError, SizeLimitError, UnsafeArchiveError } from "../../errors.js";

/** What to do with symbolic and hard links: refuse them all, or allow those that stay inside. */
export type LinkPolicy = "refuse" | "inside";

/** Entry types the helpers pass on; anything else (devices, fifos) is refused. */
export type EntryType = "file" | "directory" | "symlink" | "link";

/** One entry to pack. Names are relative to the archive's root. */
export interface PackEntry {
  readonly name: string;
  readonly type: "file" | "directory";
  /** Permission bits; set-uid/set-gid bits are dropped. */
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Content of a file: bytes, a host file path, or a stream of exactly `size` bytes. */
  readonly source?: Uint8Array | { readonly file: string } | { readonly stream: Readable };
  /** Byte size of a file; required for `stream` sources (a host file's is read when absent). */
  readonly size?: number;
}

/** One checked entry of an archive being read. */
export interface SafeEntry {
  /** Normalized relative name, without a trailing slash. */
  readonly name: string;
  readonly type: EntryType;
  readonly mode: number;
  readonly size: number;
  readonly linkname?: string;
  readonly mtime?: Date;
  /** The content (empty for directories and links); counted against the archive's byte cap. */
  readonly content: AsyncIterable<Buffer>;
}

export interface UnpackOptions {
  /** Cap on the sum of entry sizes; past it, `SizeLimitError`. */
  readonly maxBytes: number;
  /** @default "refuse" */
  readonly links?: LinkPolicy;
  /** Accept directory entries. @default true */
  readonly allowDirectories?: boolean;
  readonly signal?: AbortSignal;
}

/** Read-ahead of the streams these helpers return: big enough to keep the engine's socket busy. */
const STREAM_HWM = 1024 * 1024;

/** Drop set-uid/set-gid: only permission and sticky bits travel. */
const MODE_MASK = 0o1777;

/**
 * Normalize an entry name and refuse what could escape the extraction root: absolute names, `..`
 * segments, NUL bytes, backslashes, empty names.
 */
export function safeEntryName(name: string): string {
  const refuse = (why: string): never => {
    throw new UnsafeArchiveError(`tar entry ${JSON.stringify(name)} ${why}`);
  };
  if (name.includes("\0")) refuse("contains a NUL byte");
  if (name.includes("\\")) refuse("contains a backslash");
  if (name.startsWith("/")) refuse("has an absolute name");
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) refuse("contains a parent-directory segment (..)");
  if (parts.length === 0) refuse("has an empty name");
  return parts.join("/");
}

/** Refuse a link whose target resolves outside the archive's root. */
export function checkLinkTarget(name: string, type: "symlink" | "link", linkname: string): void {
  const refuse = (why: string): never => {
    throw new UnsafeArchiveError(`tar entry ${JSON.stringify(name)} is a ${type} ${why}`);
  };
  if (linkname === "" || linkname.includes("\0")) refuse("with an empty or invalid target");
  if (linkname.startsWith("/")) refuse(`to an absolute path (${linkname})`);
  // A symlink resolves from its directory; a hard link's target is relative to the archive root.
  const base = type === "symlink" ? posix.dirname(name) : ".";
  const resolved = posix.normalize(posix.join(base, linkname));
  if (resolved === ".." || resolved.startsWith("../")) refuse(`pointing outside the archive (${linkname})`);
}

/** A tar stream of `entries`, packed one after another while the consumer reads. */
export function packTar(
  entries: Iterable<PackEntry> | AsyncIterable<PackEntry>,
  signal?: AbortSignal,
): Readable {
  const pack = tar.pack();
  const fill = async (): Promise<void> => {
    for await (const entry of entries) {
      signal?.throwIfAborted();
      await packEntry(pack, entry, signal);
    }
    pack.finalize();
  };
  fill().catch((err: unknown) => pack.destroy(asError(err, signal)));
  return Readable.from(pack, { objectMode: false, highWaterMark: STREAM_HWM });
}

async function packEntry(pack: tar.Pack, entry: PackEntry, signal?: AbortSignal): Promise<void> {
  const name = safeEntryName(entry.name);
  const header = {
    name,
    mode: entry.mode & MODE_MASK,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    mtime: new Date(),
  };
  if (entry.type === "directory") {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, type: "directory" }, (err) => (err ? reject(err) : resolve())),
    );
    return;
  }
  const source = entry.source ?? new Uint8Array(0);
  if (source instanceof Uint8Array) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, type: "file", size: source.byteLength }, asBuffer(source), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return;
  }
  const size = entry.size ?? ("file" in source ? (await stat(source.file)).size : undefined);
  if (size === undefined || !Number.isSafeInteger(size) || size < 0)
    throw new SizeLimitError(`file ${JSON.stringify(name)} needs a known, non-negative size`);
  const stream = "file" in source ? createReadStream(source.file) : source.stream;
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...header, type: "file", size }, (err) => (err ? reject(err) : resolve()));
    // The pack reports the failure; the sink only echoes it when the pack is destroyed.
    sink.on("error", ignore);
    // On failure the whole pack is destroyed by the caller; the entry's sink goes with it.
    copyExactly(stream, sink, size, name, signal).catch((err: unknown) => reject(asError(err, signal)));
  });
  try {
    await done;
  } finally {
    if ("file" in source) stream.destroy();
  }
}

/** Copy exactly `size` bytes from `from` into `to`, honouring backpressure. */
async function copyExactly(
  from: Readable,
  to: NodeJS.WritableStream,
  size: number,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  let seen = 0;
  for await (const chunk of from) {
    signal?.throwIfAborted();
    const buf = chunk as Buffer;
    seen += buf.byteLength;
    if (seen > size)
      throw new SizeLimitError(`file ${JSON.stringify(name)} is longer than its declared ${size} bytes`);
    if (!to.write(buf)) await new Promise<void>((resolve) => to.once("drain", resolve));
  }
  if (seen !== size)
    throw new SizeLimitError(
      `file ${JSON.stringify(name)} ended after ${seen} of its declared ${size} bytes`,
    );
  to.end();
}

/**
 * Read a tar stream entry by entry. Every entry is checked before its content is read: the name
 * (`safeEntryName`), the type (files, directories, links per `links`; never devices or fifos) and
 * the running byte total against `maxBytes`. Each entry's content must be consumed before the next.
 */
export async function* unpackTar(source: Readable, opts: UnpackOptions): AsyncGenerator<SafeEntry> {
  const extract = tar.extract();
  const onAbort = (): void => {
    source.destroy(new AbortError("reading the archive was aborted", { cause: opts.signal?.reason }));
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  source.on("error", (err) => extract.destroy(err));
  source.pipe(extract);
  let total = 0;
  try {
    opts.signal?.throwIfAborted();
    for await (const entry of extract) {
      const h = entry.header;
      const name = safeEntryName(h.name);
      const type = h.type ?? "file";
      const size = h.size ?? 0;
      if (type === "symlink" || type === "link") {
        if ((opts.links ?? "refuse") === "refuse")
          throw new UnsafeArchiveError(
            `tar entry ${JSON.stringify(name)} is a ${type === "link" ? "hard link" : "symbolic link"} (to ${h.linkname ?? "?"}); links are refused`,
          );
        checkLinkTarget(name, type, h.linkname ?? "");
      } else if (type === "directory") {
        if (opts.allowDirectories === false)
          throw new UnsafeArchiveError(`tar entry ${JSON.stringify(name)} is a directory`);
      } else if (type !== "file" && type !== "contiguous-file") {
        throw new UnsafeArchiveError(
          `tar entry ${JSON.stringify(name)} is a ${type}; only files and directories are accepted`,
        );
      }
      if (total + size > opts.maxBytes)
        throw new SizeLimitError(
          `archive exceeds its limit of ${opts.maxBytes} bytes at entry ${JSON.stringify(name)} (${size} bytes)`,
        );
      const content = capped(
        entry,
        name,
        () => total,
        (n) => (total = n),
        opts.maxBytes,
      );
      yield {
        name,
        type: type === "contiguous-file" ? "file" : type,
        mode: (h.mode ?? 0o644) & MODE_MASK,
        size,
        ...(h.linkname ? { linkname: h.linkname } : {}),
        ...(h.mtime ? { mtime: h.mtime } : {}),
        content,
      };
      // Skip whatever the consumer left unread so the next header can be parsed.
      entry.resume();
    }
    opts.signal?.throwIfAborted();
  } catch (err) {
    throw asError(err, opts.signal);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    source.unpipe(extract);
    extract.destroy();
    source.destroy();
  }
}

async function* capped(
  entry: AsyncIterable<unknown>,
  name: string,
  getTotal: () => number,
  setTotal: (n: number) => void,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  for await (const chunk of entry) {
    const buf = chunk as Buffer;
    const total = getTotal() + buf.byteLength;
    if (total > maxBytes)
      throw new SizeLimitError(`archive exceeds its limit of ${maxBytes} bytes in ${JSON.stringify(name)}`);
    setTotal(total);
    yield buf;
  }
}

/**
 * The content of an archive that must hold exactly one regular file (what the engine returns for
 * a file download). Resolves once the first header is checked; the bytes then stream, capped.
 * Plain stream plumbing (no generators): this is the hot path of every download.
 */
export function readSingleFile(
  source: Readable,
  opts: Omit<UnpackOptions, "links" | "allowDirectories"> & { readonly name?: string },
): Promise<Readable> {
  const extract = tar.extract();
  let current: { pause(): void; resume(): void } | undefined;
  // A push-based Readable: the entry's chunks go straight into its buffer, one hop, no Transform.
  const out = new Readable({ highWaterMark: STREAM_HWM, read: () => current?.resume() });
  let settled = false;
  let seen = 0;
  return new Promise<Readable>((resolve, reject) => {
    const cleanup = (): void => {
      opts.signal?.removeEventListener("abort", onAbort);
      source.unpipe(extract);
      source.destroy();
      extract.destroy();
    };
    const fail = (err: unknown): void => {
      const error = asError(err, opts.signal);
      cleanup();
      if (settled) out.destroy(error);
      else reject(error);
      settled = true;
    };
    const onAbort = (): void => fail(new AbortError("reading the archive was aborted"));
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) return onAbort();
    out.on("close", cleanup);
    extract.on("entry", (header: tar.Header, stream: tar.ExtractEvents["entry"][1], next: () => void) => {
      try {
        if (current) throw new UnsafeArchiveError("the archive holds more than one entry");
        const name = safeEntryName(header.name);
        if (header.type === "directory")
          throw new UnsafeArchiveError(`tar entry ${JSON.stringify(name)} is a directory`);
        if (header.type === "symlink" || header.type === "link")
          throw new UnsafeArchiveError(
            `tar entry ${JSON.stringify(name)} is a ${header.type === "link" ? "hard link" : "symbolic link"} (to ${header.linkname}); links are refused`,
          );
        if (header.type !== "file" && header.type !== "contiguous-file")
          throw new UnsafeArchiveError(
            `tar entry ${JSON.stringify(name)} is a ${header.type}; only files are accepted`,
          );
        if (header.size > opts.maxBytes)
          throw new SizeLimitError(
            `archive exceeds its limit of ${opts.maxBytes} bytes at entry ${JSON.stringify(name)} (${header.size} bytes)`,
          );
        if (opts.name !== undefined && name !== opts.name)
          throw new UnsafeArchiveError(
            `the archive holds ${JSON.stringify(name)}, not the requested ${JSON.stringify(opts.name)}`,
          );
      } catch (err) {
        return fail(err);
      }
      current = stream;
      stream.on("error", fail);
      stream.on("data", (data: unknown) => {
        const chunk = data as Buffer;
        seen += chunk.length;
        if (seen > opts.maxBytes)
          return fail(
            new SizeLimitError(
              `archive exceeds its limit of ${opts.maxBytes} bytes in ${JSON.stringify(header.name)}`,
            ),
          );
        if (!out.push(chunk)) stream.pause();
      });
      stream.on("end", next);
      settled = true;
      resolve(out);
    });
    extract.on("finish", () => {
      if (!current) return fail(new UnsafeArchiveError("the archive holds no file"));
      opts.signal?.removeEventListener("abort", onAbort);
      out.push(null);
    });
    extract.on("error", fail);
    source.on("error", fail);
    source.pipe(extract);
  });
}

export interface RepackOptions extends UnpackOptions {
  /** Owner written on every entry (the container's user). Default: keep the archive's. */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

/**
 * Check an archive entry by entry and pack the accepted entries into a fresh tar stream: what
 * leaves is exactly what was checked. The first bad entry ends the output stream with its error.
 */
export function repackTar(source: Readable, opts: RepackOptions): Readable {
  const pack = tar.pack();
  const fill = async (): Promise<void> => {
    for await (const entry of unpackTar(source, opts)) {
      const owner = opts.owner ?? { uid: 0, gid: 0 };
      const header = {
        name: entry.name,
        mode: entry.mode,
        ...owner,
        ...(entry.mtime ? { mtime: entry.mtime } : {}),
      };
      if (entry.type === "file") {
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...header, type: "file", size: entry.size }, (err) =>
            err ? reject(err) : resolve(),
          );
          sink.on("error", ignore);
          copyExactly(Readable.from(entry.content), sink, entry.size, entry.name, opts.signal).catch(
            (err: unknown) => reject(asError(err, opts.signal)),
          );
        });
      } else {
        await new Promise<void>((resolve, reject) =>
          pack.entry(
            { ...header, type: entry.type, ...(entry.linkname ? { linkname: entry.linkname } : {}) },
            (err) => (err ? reject(err) : resolve()),
          ),
        );
      }
    }
    pack.finalize();
  };
  fill().catch((err: unknown) => pack.destroy(asError(err, opts.signal)));
  return Readable.from(pack, { objectMode: false, highWaterMark: STREAM_HWM });
}

function ignore(): void {}

/** A Buffer view of the bytes (no copy: transfers of hundreds of MiB pass through here). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function asError(err: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted && !(err instanceof AbortError))
    return new AbortError("the archive transfer was aborted", { cause: signal.reason });
  return err instanceof Error ? err : new Error(String(err));
}
