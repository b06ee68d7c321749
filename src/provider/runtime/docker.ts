/**
 * The Docker engine behind the ContainerRuntime and ImageEngine interfaces. This is the only
 * file in Agora that imports dockerode (DESIGN §2). The Docker-free rules live next to it:
 * container-spec.ts (hardening, keeper, exec wrapper), transfer.ts and paths.ts (where transfers
 * may go), archive.ts (tar safety), exec-output.ts (stream demux, caps).
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AgoraError,
  ImageError,
  OutOfMemoryError,
  ProviderError,
  UserError,
  toAbortError,
} from "../../errors.js";
import { readSingleFile } from "./archive.js";
import {
  LABEL_ACTIVITY,
  LABEL_AGENT,
  LABEL_VOLUME_PATH,
  describeCommand,
  engineName,
  hardenedSpec,
  parseImageUser,
  resolveUserName,
} from "./container-spec.js";
import { runCommand, within, type ExecEngine } from "./exec-session.js";
import {
  getFile,
  parsePathStat,
  putArchive,
  putFiles,
  type ArchiveEngine,
  type PathStat,
} from "./transfer.js";
import type {
  ContainerInfo,
  ContainerRuntime,
  DeployOptions,
  ExecOptions,
  ExecResult,
  GetFileOptions,
  ImageConfig,
  PutArchiveOptions,
  PutFileEntry,
  Usage,
} from "./types.js";

export interface DockerRuntimeOptions {
  /** Path of the engine's socket. @default "/var/run/docker.sock" (or DOCKER_HOST when set) */
  readonly socketPath?: string;
  /** How long a killed command may take to go away before the runtime gives up on it. @default 5000 */
  readonly killGraceMs?: number;
}

interface ProgressEvent {
  readonly status?: string;
  readonly stream?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

/** What the runtime remembers of a container it deployed (or adopted after a restart). */
interface Tracked {
  readonly id: string;
  readonly activityId: string;
  readonly volumes: readonly string[];
  readonly volumeNames: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly memoryBytes: number;
  startedAtMs: number | undefined;
  /** Time (ns) of the last OOM event already attributed to a command. */
  lastOomNs: number;
}

const MiB = 1024 * 1024;
/** Cap on /etc/passwd and /etc/group when resolving a named USER. */
const ACCOUNT_FILE_MAX = MiB;

export class DockerRuntime implements ContainerRuntime {
  readonly #docker: Docker;
  readonly #killGraceMs: number;
  readonly #tracked = new Map<string, Tracked>();

  constructor(opts: DockerRuntimeOptions = {}) {
    this.#docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
    this.#killGraceMs = opts.killGraceMs ?? 5000;
  }

  /** Resolve when the engine answers; reject with a ProviderError that says what to do otherwise. */
  async ping(): Promise<void> {
    try {
      await this.#docker.ping();
    } catch (err) {
      throw new ProviderError(
        "the Docker engine does not answer on its socket: start it (run `npm run setup` as root) and retry",
        { cause: err },
      );
    }
  }

  // ---- containers ------------------------------------------------------------------------

  async deploy(opts: DeployOptions): Promise<ContainerInfo> {
    const image = await this.inspectImage(opts.image);
    if (!image)
      throw new ImageError(`image ${opts.image} is not in the local engine: load it before deploying`);
    const user = parseImageUser(opts.image, image.user);
    const labels = { [LABEL_AGENT]: opts.agentId, [LABEL_ACTIVITY]: opts.activityId };
    const suffix = randomBytes(4).toString("hex");
    const volumeNames: string[] = [];
    let containerId: string | undefined;
    try {
      const volumes = [];
      for (const [i, target] of image.volumes.entries()) {
        const name = engineName("agora", opts.activityId, `${suffix}-v${i}`);
        await this.#docker.createVolume({ Name: name, Labels: { ...labels, [LABEL_VOLUME_PATH]: target } });
        volumeNames.push(name);
        volumes.push({ name, target });
      }
      const ids = user.kind === "ids" ? user : undefined;
      const spec = hardenedSpec({
        image: image.id,
        name: engineName("agora", opts.activityId, suffix),
        user: ids ? `${ids.uid}:${ids.gid}` : image.user,
        limits: opts.limits,
        labels,
        volumes,
        ...(opts.env ? { env: opts.env } : {}),
      });
      const container = await this.#docker.createContainer(spec);
      containerId = container.id;
      const owner = user.kind === "ids" ? user : await this.#resolveNamedUser(container.id, opts.image, user);
      const tracked: Tracked = {
        id: container.id,
        activityId: opts.activityId,
        volumes: image.volumes,
        volumeNames,
        ...owner,
        memoryBytes: opts.limits.memoryBytes,
        startedAtMs: undefined,
        lastOomNs: 0,
      };
      this.#tracked.set(container.id, tracked);
      return {
        id: container.id,
        activityId: opts.activityId,
        volumes: image.volumes,
        user: `${owner.uid}:${owner.gid}`,
      };
    } catch (err) {
      if (containerId) await this.#removeContainer(containerId);
      await this.#removeVolumes(volumeNames);
      if (err instanceof ImageError || err instanceof UserError) throw err;
      throw engineError(`cannot deploy image ${opts.image}`, err);
    }
  }

  async start(containerId: string): Promise<void> {
    const tracked = await this.#track(containerId);
    try {
      await this.#docker.getContainer(containerId).start();
    } catch (err) {
      if (statusCode(err) !== 304) throw engineError(`cannot start container ${short(containerId)}`, err);
    }
    tracked.startedAtMs ??= Date.now();
  }

  async destroy(containerId: string): Promise<void> {
    const names = new Set(this.#tracked.get(containerId)?.volumeNames ?? []);
    try {
      const info = await this.#docker.getContainer(containerId).inspect();
      for (const m of info.Mounts) if (m.Type === "volume" && m.Name) names.add(m.Name);
    } catch (err) {
      if (statusCode(err) !== 404) throw engineError(`cannot inspect container ${short(containerId)}`, err);
    }
    await this.#removeContainer(containerId);
    this.#tracked.delete(containerId);
    await this.#removeVolumes([...names]);
  }

  async cleanupOrphans(agentId: string): Promise<number> {
    const filters = { label: [`${LABEL_AGENT}=${agentId}`] };
    const containers = await this.#docker.listContainers({ all: true, filters });
    for (const c of containers) {
      await this.#removeContainer(c.Id);
      this.#tracked.delete(c.Id);
    }
    const volumes = await this.#docker.listVolumes({ filters });
    await this.#removeVolumes((volumes.Volumes ?? []).map((v) => v.Name));
    return containers.length;
  }

  async usage(containerId: string): Promise<Usage> {
    const tracked = await this.#track(containerId);
    const container = this.#docker.getContainer(containerId);
    try {
      const stats = await container.stats({ stream: false, "one-shot": true } as { stream: false });
      const startedAt = tracked.startedAtMs ?? Date.parse((await container.inspect()).State.StartedAt);
      return {
        cpuSec: (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e9,
        durationSec: Number.isFinite(startedAt) ? Math.max(0, (Date.now() - startedAt) / 1000) : 0,
      };
    } catch (err) {
      throw engineError(`cannot read the usage of container ${short(containerId)}`, err);
    }
  }

  // ---- transfers -------------------------------------------------------------------------

  async putFiles(
    containerId: string,
    entries: readonly PutFileEntry[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const tracked = await this.#track(containerId);
    await putFiles(this.#archiveEngine(containerId), tracked, entries, opts.signal);
  }

  async putArchive(
    containerId: string,
    dir: string,
    archive: Readable,
    opts: PutArchiveOptions,
  ): Promise<void> {
    const tracked = await this.#track(containerId);
    await putArchive(this.#archiveEngine(containerId), tracked, dir, archive, opts);
  }

  async getFile(containerId: string, path: string, opts: GetFileOptions): Promise<Readable> {
    const tracked = await this.#track(containerId);
    return getFile(this.#archiveEngine(containerId), tracked, path, opts);
  }

  /** The engine operations transfers need, bound to one container. */
  #archiveEngine(containerId: string): ArchiveEngine {
    return {
      stat: (path, signal) => this.#stat(containerId, path, signal),
      put: (dir, tar, what, signal) => this.#put(containerId, dir, tar, what, signal),
      get: async (path, signal) => {
        const what = `download of ${path}`;
        try {
          return (await this.#docker
            .getContainer(containerId)
            .getArchive({ path, ...(signal ? { abortSignal: signal } : {}) })) as Readable;
        } catch (err) {
          if (signal?.aborted) throw toAbortError(signal, what, err);
          throw engineError(`${what} failed`, err);
        }
      },
    };
  }

  /** The engine's stat of a path (symlinks not followed), or undefined when it does not exist. */
  async #stat(containerId: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
    try {
      const res = (await this.#docker
        .getContainer(containerId)
        .infoArchive({ path, ...(signal ? { abortSignal: signal } : {}) })) as Readable & {
        headers: Record<string, string | undefined>;
      };
      res.resume();
      const header = res.headers["x-docker-container-path-stat"];
      if (!header) throw new ProviderError(`the engine sent no stat for ${path}`);
      return parsePathStat(header);
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      if (signal?.aborted) throw toAbortError(signal, `stat of ${path}`, err);
      if (err instanceof ProviderError) throw err;
      throw engineError(`cannot stat ${path} in container ${short(containerId)}`, err);
    }
  }

  async #put(
    containerId: string,
    dir: string,
    tar: Readable,
    what: string,
    signal?: AbortSignal,
  ): Promise<void> {
    let streamError: unknown;
    tar.once("error", (err) => (streamError = err));
    try {
      await this.#docker
        .getContainer(containerId)
        .putArchive(tar, { path: dir, ...(signal ? { abortSignal: signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw toAbortError(signal, what, err);
      // The archive's own check (unsafe entry, size) is the real reason the request broke.
      if (streamError instanceof AgoraError) throw streamError;
      throw engineError(`${what} failed`, err);
    } finally {
      tar.destroy();
    }
    if (streamError !== undefined) throw asError(streamError);
  }

  // ---- commands --------------------------------------------------------------------------

  async exec(
    containerId: string,
    command: readonly string[] | string,
    opts: ExecOptions = {},
  ): Promise<ExecResult> {
    const tracked = await this.#track(containerId);
    const startedMs = Date.now();
    const result = await runCommand(this.#execEngine(containerId), command, opts, this.#killGraceMs, (err) =>
      this.#whyNotRunning(containerId, `command ${JSON.stringify(describeCommand(command))}`, err),
    );
    if (result.exitCode === 137 && (await this.#oomSince(tracked, startedMs)))
      throw new OutOfMemoryError(
        `command ${JSON.stringify(describeCommand(command))} was killed by the out-of-memory killer: ` +
          `it needed more than the container's ${Math.round(tracked.memoryBytes / MiB)} MiB of memory`,
      );
    return result;
  }

  /** The engine operations a command run needs, bound to one container. */
  #execEngine(containerId: string): ExecEngine {
    const container = this.#docker.getContainer(containerId);
    return {
      start: async (argv, opts) => {
        const exec = await container.exec({
          Cmd: [...argv],
          AttachStdin: false,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          ...(opts.env ? { Env: [...opts.env] } : {}),
          ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
          abortSignal: opts.signal,
        });
        // No abort signal here: after the upgrade the socket must live until the process is gone.
        const stream = await exec.start({ hijack: true, stdin: false });
        return { stream, exitCode: () => exitCode(exec) };
      },
      runQuiet: async (argv, timeoutMs) => {
        const exec = await container.exec({
          Cmd: [...argv],
          AttachStdout: true,
          AttachStderr: true,
          abortSignal: AbortSignal.timeout(timeoutMs),
        });
        const stream = await exec.start({ hijack: true, stdin: false });
        stream.resume();
        const done = new Promise<boolean>((resolve) => {
          stream.once("end", () => resolve(true));
          stream.once("close", () => resolve(true));
          stream.once("error", () => resolve(false));
        });
        const ok = await within(done, timeoutMs, false);
        stream.destroy();
        if (!ok)
          throw new ProviderError(`helper command ${argv.join(" ")} did not finish within ${timeoutMs} ms`);
      },
      signalKeeper: async () => {
        try {
          await container.kill({ signal: "SIGUSR1" });
        } catch (err) {
          throw engineError(`cannot signal the keeper of container ${short(containerId)}`, err);
        }
      },
    };
  }

  /** Whether the engine reported an OOM kill in this container since `sinceMs` (not yet attributed). */
  async #oomSince(tracked: Tracked, sinceMs: number): Promise<boolean> {
    // The engine's oom event trails the exit by a few milliseconds: look a few times.
    for (let i = 0; i < 10; i++) {
      const events = await this.#docker.getEvents({
        since: Math.floor(sinceMs / 1000) - 1,
        until: Date.now() / 1000,
        filters: { container: [tracked.id], event: ["oom"] },
      });
      let text = "";
      for await (const chunk of events) text += String(chunk);
      const times = text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => (JSON.parse(l) as { timeNano?: number }).timeNano ?? 0)
        .filter((t) => t > tracked.lastOomNs && t >= (sinceMs - 1000) * 1e6);
      if (times.length > 0) {
        tracked.lastOomNs = Math.max(...times);
        return true;
      }
      await sleep(50);
    }
    return false;
  }

  /** Explain an exec that could not start: an OOM-killed or stopped container, or an engine error. */
  async #whyNotRunning(containerId: string, what: string, err: unknown): Promise<Error> {
    try {
      const info = await this.#docker.getContainer(containerId).inspect();
      if (info.State.OOMKilled)
        return new OutOfMemoryError(
          `container ${short(containerId)} was killed by the out-of-memory killer; ${what} cannot run`,
          { cause: err },
        );
      if (!info.State.Running)
        return new ProviderError(
          `container ${short(containerId)} is not running (${info.State.Status}); ${what} cannot run`,
          { cause: err },
        );
    } catch {
      // The container is gone: the engine's own message says so.
    }
    return engineError(`cannot run ${what} in container ${short(containerId)}`, err);
  }

  // ---- bookkeeping -----------------------------------------------------------------------

  /** The runtime's record of a container; one it did not deploy (after a restart) is adopted from its labels. */
  async #track(containerId: string): Promise<Tracked> {
    const known = this.#tracked.get(containerId);
    if (known) return known;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.#docker.getContainer(containerId).inspect();
    } catch (err) {
      if (statusCode(err) === 404)
        throw new ProviderError(`no container ${short(containerId)} in the engine`, { cause: err });
      throw engineError(`cannot inspect container ${short(containerId)}`, err);
    }
    const activityId = info.Config.Labels[LABEL_ACTIVITY];
    if (info.Config.Labels[LABEL_AGENT] === undefined || activityId === undefined)
      throw new ProviderError(
        `container ${short(containerId)} was not created by Agora; refusing to manage it`,
      );
    const user = parseImageUser(info.Config.Image, info.Config.User);
    const owner =
      user.kind === "ids" ? user : await this.#resolveNamedUser(containerId, info.Config.Image, user);
    const mounts = info.Mounts.filter((m) => m.Type === "volume");
    const tracked: Tracked = {
      id: info.Id,
      activityId,
      volumes: mounts.map((m) => m.Destination).sort(),
      volumeNames: mounts.map((m) => m.Name ?? "").filter(Boolean),
      uid: owner.uid,
      gid: owner.gid,
      memoryBytes: info.HostConfig.Memory ?? 0,
      startedAtMs: info.State.Running ? Date.parse(info.State.StartedAt) : undefined,
      lastOomNs: Date.now() * 1e6,
    };
    this.#tracked.set(containerId, tracked);
    return tracked;
  }

  async #resolveNamedUser(
    containerId: string,
    image: string,
    user: { readonly name: string; readonly group?: string },
  ): Promise<{ uid: number; gid: number }> {
    const passwd = await this.#readRootFile(containerId, "/etc/passwd");
    const group = user.group === undefined ? "" : await this.#readRootFile(containerId, "/etc/group");
    return resolveUserName(image, user, passwd ?? "", group ?? "");
  }

  /** A small file of the image itself (not a volume), or undefined when missing. */
  async #readRootFile(containerId: string, path: string): Promise<string | undefined> {
    let res: Readable;
    try {
      res = (await this.#docker.getContainer(containerId).getArchive({ path })) as Readable;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await readSingleFile(res, { maxBytes: ACCOUNT_FILE_MAX }))
      chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  async #removeContainer(containerId: string): Promise<void> {
    try {
      await this.#docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (err) {
      const code = statusCode(err);
      // 404: already gone; 409: a removal is already in progress.
      if (code !== 404 && code !== 409)
        throw engineError(`cannot remove container ${short(containerId)}`, err);
    }
  }

  async #removeVolumes(names: readonly string[]): Promise<void> {
    for (const name of names) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#docker.getVolume(name).remove();
          break;
        } catch (err) {
          const code = statusCode(err);
          if (code === 404) break;
          // 409: still in use while the engine finishes removing its container.
          if (code === 409 && attempt < 20) {
            await sleep(50);
            continue;
          }
          throw engineError(`cannot remove volume ${name}`, err);
        }
      }
    }
  }

  // ---- images (ImageEngine) --------------------------------------------------------------

  async importRootfs(rootfs: Readable, opts: { changes: readonly string[]; tag: string }): Promise<string> {
    const [repo, tag = "latest"] = splitTag(opts.tag);
    const stream = await this.#docker.importImage(rootfs, {
      repo,
      tag,
      changes: [...opts.changes],
    });
    const events = await this.#followProgress(stream, `importing ${opts.tag}`);
    const id = events
      .map((e) => e.status ?? "")
      .reverse()
      .find((s) => s.startsWith("sha256:"));
    if (!id) throw new ImageError(`docker import of ${opts.tag} reported no image id`);
    return id.trim();
  }

  async saveImage(ref: string): Promise<Readable> {
    try {
      return (await this.#docker.getImage(ref).get()) as Readable;
    } catch (err) {
      throw new ImageError(`cannot save image ${ref}: ${errMessage(err)}`, { cause: err });
    }
  }

  async loadImage(archive: Readable): Promise<string[]> {
    const stream = await this.#docker.loadImage(archive, {
      quiet: true,
    });
    const events = await this.#followProgress(stream, "loading an image archive");
    const loaded = events
      .map((e) => (e.stream ?? e.status ?? "").trim())
      .map((s) => /^Loaded image(?: ID)?: (.+)$/.exec(s)?.[1])
      .filter((s): s is string => s !== undefined);
    if (loaded.length === 0)
      throw new ImageError("the archive loaded no image: it is not a Docker image archive");
    return loaded;
  }

  async inspectImage(ref: string): Promise<ImageConfig | undefined> {
    try {
      const info = await this.#docker.getImage(ref).inspect();
      return {
        id: info.Id,
        volumes: Object.keys(info.Config.Volumes ?? {}).sort(),
        user: info.Config.User ?? "",
        workdir: info.Config.WorkingDir ?? "",
        env: info.Config.Env ?? [],
        sizeBytes: info.Size,
      };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw new ProviderError(`cannot inspect image ${ref}: ${errMessage(err)}`, { cause: err });
    }
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.#docker.getImage(ref).remove({ force: true });
    } catch (err) {
      if (statusCode(err) !== 404)
        throw new ImageError(`cannot remove image ${ref}: ${errMessage(err)}`, { cause: err });
    }
  }

  #followProgress(stream: NodeJS.ReadableStream, what: string): Promise<ProgressEvent[]> {
    return new Promise((resolve, reject) => {
      this.#docker.modem.followProgress(stream, (err: Error | null, events: ProgressEvent[]) => {
        if (err) return reject(new ImageError(`${what} failed: ${err.message}`, { cause: err }));
        const failed = events.find((e) => e.error ?? e.errorDetail?.message);
        if (failed)
          return reject(new ImageError(`${what} failed: ${failed.error ?? failed.errorDetail?.message}`));
        resolve(events);
      });
    });
  }
}

function splitTag(ref: string): [string, string | undefined] {
  const at = ref.lastIndexOf(":");
  return at > ref.lastIndexOf("/") && at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, undefined];
}

function statusCode(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "statusCode" in err && typeof err.statusCode === "number"
    ? err.statusCode
    : undefined;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function exitCode(exec: Docker.Exec): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await sleep(i < 10 ? 5 : 25);
  }
  throw new ProviderError("the engine reports no exit code for a finished command");
}

/** A ProviderError naming the engine call that failed, with the engine's own message. */
function engineError(what: string, err: unknown): ProviderError {
  return new ProviderError(`${what}: ${errMessage(err)}`, { cause: err });
}

function short(id: string): string {
  return id.slice(0, 12);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
