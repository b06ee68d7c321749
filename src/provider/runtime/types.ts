import type { Readable } from "node:stream";

/** Resource limits applied to one hardened container. */
export interface ResourceLimits {
  /** Memory limit in bytes; swap is set equal (no swap beyond it). */
  readonly memoryBytes: number;
  /** CPU limit in units of 1e-9 CPUs (Docker's NanoCpus). */
  readonly nanoCpus: number;
  /** Maximum number of processes/threads inside the container. */
  readonly pidsLimit: number;
  /** Size of the tmpfs mounted at /tmp, in bytes. */
  readonly tmpfsBytes: number;
  /** Cap on the json-file container log, in bytes. */
  readonly logMaxBytes: number;
}

export interface DeployOptions {
  /** A Docker image id (`sha256:…`) or tag present in the local engine. */
  readonly image: string;
  readonly limits: ResourceLimits;
  /** Id of the provider agent; labels the container so a restarted agent removes its orphans. */
  readonly agentId: string;
  /** Id of the activity this container serves. */
  readonly activityId: string;
  /** Extra environment variables for every process in the container. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ContainerInfo {
  readonly id: string;
  readonly activityId: string;
  /** The image's declared volumes: the only places transfers may touch. */
  readonly volumes: readonly string[];
  /** The user processes run as (never root). */
  readonly user: string;
}

/** One file to place inside a volume. */
export interface PutFileEntry {
  /** Absolute path inside the container; must lie inside a volume. */
  readonly path: string;
  /** The content: bytes, a host file path (`{ file }`), or a stream of known size. */
  readonly source:
    Uint8Array | { readonly file: string } | { readonly stream: Readable; readonly size: number };
  /** File mode. @default 0o644 */
  readonly mode?: number;
}

export interface ExecOptions {
  /** Kill the process after this long and fail with `TimeoutError`. */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly signal?: AbortSignal;
  /** Called with each chunk of output as it arrives (every chunk, also past `maxOutputBytes`). */
  readonly onOutput?: (stream: "stdout" | "stderr", chunk: Uint8Array) => void;
  /** Cap on captured stdout and on captured stderr, each. @default 1 MiB */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when stdout or stderr was cut at the cap. */
  readonly truncated: boolean;
}

export interface PutArchiveOptions {
  /** Cap on the sum of the archive's entry sizes, checked while streaming (`SizeLimitError`). */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

export interface GetFileOptions {
  /** Refuse (with `SizeLimitError`) past this many bytes, checked while streaming. */
  readonly maxBytes: number;
  /** Allow a directory; the stream is then a tar archive of it. @default false */
  readonly allowDirectory?: boolean;
  readonly signal?: AbortSignal;
}

export interface Usage {
  /** CPU seconds consumed by the container's processes. */
  readonly cpuSec: number;
  /** Wall seconds since the container started. */
  readonly durationSec: number;
}

/** What an image declares, read from the engine. */
export interface ImageConfig {
  readonly id: string;
  readonly volumes: readonly string[];
  readonly user: string;
  readonly workdir: string;
  readonly env: readonly string[];
  readonly sizeBytes: number;
}

/** The engine operations the image store needs. */
export interface ImageEngine {
  /** Import a root-filesystem tar with Dockerfile-style changes (`VOLUME`, `USER`, …); returns the image id. */
  importRootfs(rootfs: Readable, opts: { changes: readonly string[]; tag: string }): Promise<string>;
  /** Stream the image in `docker save` format. */
  saveImage(ref: string): Promise<Readable>;
  /** Load a `docker save` archive; returns the loaded image ids/tags. */
  loadImage(archive: Readable): Promise<string[]>;
  /** The image's config, or undefined when the engine does not have it. */
  inspectImage(ref: string): Promise<ImageConfig | undefined>;
  removeImage(ref: string): Promise<void>;
}

/** Runs activities inside hardened containers (DESIGN §8). */
export interface ContainerRuntime extends ImageEngine {
  /** Create a hardened container (not started) with a volume per declared image volume. */
  deploy(opts: DeployOptions): Promise<ContainerInfo>;
  start(containerId: string): Promise<void>;
  putFiles(
    containerId: string,
    entries: readonly PutFileEntry[],
    opts?: { signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Unpack a tar archive into a directory inside a volume (created when missing). Every entry is
   * checked while streaming: no absolute names, no `..`, no links out, no devices, sizes capped;
   * the first bad entry fails the upload with `UnsafeArchiveError` before it reaches the engine.
   */
  putArchive(containerId: string, dir: string, archive: Readable, opts: PutArchiveOptions): Promise<void>;
  /**
   * Run an argv, or a shell string through `/bin/sh -c`, as the container's user. On `timeoutMs`
   * (`TimeoutError`) or `signal` (`AbortError`) the command's process group is killed and the
   * container stays usable. A command killed by the kernel's OOM killer rejects with
   * `OutOfMemoryError`; a non-zero exit is a result, not an error.
   */
  exec(containerId: string, command: readonly string[] | string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * A file's bytes (or, with `allowDirectory`, a checked tar of a directory). Refuses paths
   * outside the volumes or through symbolic links, links themselves, and files over `maxBytes`
   * before any byte moves; the cap is enforced again while streaming. Consume or destroy the stream.
   */
  getFile(containerId: string, path: string, opts: GetFileOptions): Promise<Readable>;
  usage(containerId: string): Promise<Usage>;
  /** Remove the container and its volumes; safe to call on a container already gone. */
  destroy(containerId: string): Promise<void>;
  /** Remove containers and volumes labelled with this agent id; returns how many containers. */
  cleanupOrphans(agentId: string): Promise<number>;
}
