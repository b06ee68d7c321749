/**
 * The Docker engine behind the ContainerRuntime and ImageEngine interfaces. This is the only
 * file in Agora that imports dockerode (DESIGN §2). The Docker-free rules live next to it:
 * container-spec.ts (hardening, keeper, exec wrapper), transfer.ts and paths.ts (where transfers
 * may go), archive.ts (tar safety), exec-output.ts (stream demux, caps).
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import type { Duplex, Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AgoraError,
  ImageError,
  OutOfMemoryError,
  ProviderError,
  SizeLimitError,
  TimeoutError,
  UserError,
  toAbortError,
  withDeadline,
} from "../../errors.js";
import { packTar, readSingleFile, repackTar } from "./archive.js";
import {
  LABEL_ACTIVITY,
  LABEL_AGENT,
  LABEL_VOLUME_PATH,
  describeCommand,
  engineName,
  envList,
  hardenedSpec,
  killCommand,
  parseImageUser,
  resolveUserName,
  wrapCommand,
} from "./container-spec.js";
import { CappedOutput, FrameDemuxer, PidLineReader } from "./exec-output.js";
import { locateInVolumes } from "./paths.js";
import { parsePathStat, planUpload, refuseLink, uploadEntries, type PathStat } from "./transfer.js";
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
const DEFAULT_MAX_OUTPUT = MiB;
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
      throw new ProviderError(`cannot deploy image ${opts.image}: ${errMessage(err)}`, { cause: err });
    }
  }

  async start(containerId: string): Promise<void> {
    const tracked = await this.#track(containerId);
    try {
      await this.#docker.getContainer(containerId).start();
    } catch (err) {
      if (statusCode(err) !== 304)
        throw new ProviderError(`cannot start container ${short(containerId)}: ${errMessage(err)}`, {
          cause: err,
        });
    }
    tracked.startedAtMs ??= Date.now();
  }

  async destroy(containerId: string): Promise<void> {
    const names = new Set(this.#tracked.get(containerId)?.volumeNames ?? []);
    try {
      const info = await this.#docker.getContainer(containerId).inspect();
      for (const m of info.Mounts) if (m.Type === "volume" && m.Name) names.add(m.Name);
    } catch (err) {
      if (statusCode(err) !== 404)
        throw new ProviderError(`cannot inspect container ${short(containerId)}: ${errMessage(err)}`, {
          cause: err,
        });
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
      throw new ProviderError(
        `cannot read the usage of container ${short(containerId)}: ${errMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  // ---- transfers -------------------------------------------------------------------------

  async putFiles(
    containerId: string,
    entries: readonly PutFileEntry[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const tracked = await this.#track(containerId);
    // Every path is checked before the engine is asked anything about this transfer.
    const uploads = planUpload(entries, tracked.volumes);
    opts.signal?.throwIfAborted();
    for (const upload of uploads) {
      const existing = await this.#checkDirs(
        containerId,
        upload.files[0]?.entry.path ?? upload.volume,
        upload.parents,
        opts.signal,
      );
      const tar = packTar(uploadEntries(upload, existing, tracked), opts.signal);
      await this.#put(containerId, upload.volume, tar, `upload into ${upload.volume}`, opts.signal);
    }
  }

  async putArchive(
    containerId: string,
    dir: string,
    archive: Readable,
    opts: PutArchiveOptions,
  ): Promise<void> {
    const tracked = await this.#track(containerId);
    const at = locateInVolumes(dir, tracked.volumes, true);
    const dirs = at.segments.map((_, i) => `${at.volume}/${at.segments.slice(0, i + 1).join("/")}`);
    const existing = await this.#checkDirs(containerId, at.path, dirs, opts.signal);
    const missing = dirs.filter((d) => !existing.has(d));
    if (missing.length > 0) {
      const owner = { uid: tracked.uid, gid: tracked.gid };
      const entries = missing.map((d) => ({
        name: d.slice(at.volume.length + 1),
        type: "directory" as const,
        mode: 0o755,
        ...owner,
      }));
      await this.#put(
        containerId,
        at.volume,
        packTar(entries, opts.signal),
        `creating ${at.path}`,
        opts.signal,
      );
    }
    const checked = repackTar(archive, {
      maxBytes: opts.maxBytes,
      links: "inside",
      owner: { uid: tracked.uid, gid: tracked.gid },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await this.#put(containerId, at.path, checked, `archive upload into ${at.path}`, opts.signal);
  }

  async getFile(containerId: string, path: string, opts: GetFileOptions): Promise<Readable> {
    const tracked = await this.#track(containerId);
    const at = locateInVolumes(path, tracked.volumes, opts.allowDirectory ?? false);
    const parents = at.segments
      .slice(0, -1)
      .map((_, i) => `${at.volume}/${at.segments.slice(0, i + 1).join("/")}`);
    const existing = await this.#checkDirs(containerId, at.path, parents, opts.signal);
    const stat =
      existing.size === parents.length ? await this.#stat(containerId, at.path, opts.signal) : undefined;
    if (!stat) throw new UserError(`${at.path} does not exist in the container`);
    if (stat.kind === "symlink") refuseLink(at, at.path, stat);
    if (stat.kind === "other") throw new UserError(`${at.path} is not a regular file`);
    if (stat.kind === "directory" && !opts.allowDirectory)
      throw new UserError(`${at.path} is a directory; pass allowDirectory to download it as a tar archive`);
    if (stat.kind === "file" && stat.size > opts.maxBytes)
      throw new SizeLimitError(
        `${at.path} holds ${stat.size} bytes, over the download limit of ${opts.maxBytes} bytes`,
      );
    const what = `download of ${at.path}`;
    let res: Readable;
    try {
      res = (await this.#docker.getContainer(containerId).getArchive({
        path: at.path,
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      })) as Readable;
    } catch (err) {
      if (opts.signal?.aborted) throw toAbortError(opts.signal, what, err);
      throw new ProviderError(`${what} failed: ${errMessage(err)}`, { cause: err });
    }
    const limits = { maxBytes: opts.maxBytes, ...(opts.signal ? { signal: opts.signal } : {}) };
    if (stat.kind === "directory") return repackTar(res, { ...limits, links: "inside" });
    return readSingleFile(res, { ...limits, name: stat.name });
  }

  /** Check directories from shallow to deep: the existing ones, stopping at the first missing. */
  async #checkDirs(
    containerId: string,
    target: string,
    dirs: readonly string[],
    signal?: AbortSignal,
  ): Promise<Set<string>> {
    const existing = new Set<string>();
    for (const dir of dirs) {
      const stat = await this.#stat(containerId, dir, signal);
      if (!stat) break;
      if (stat.kind === "symlink") refuseLink(target, dir, stat);
      if (stat.kind !== "directory")
        throw new UserError(`${dir} exists in the container and is not a directory`);
      existing.add(dir);
    }
    return existing;
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
      throw new ProviderError(`cannot stat ${path} in container ${short(containerId)}: ${errMessage(err)}`, {
        cause: err,
      });
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
      throw new ProviderError(`${what} failed: ${errMessage(err)}`, { cause: err });
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
    const what = `command ${JSON.stringify(describeCommand(command))}`;
    const startedMs = Date.now();
    let killFailure: Error | undefined;
    const result = await withDeadline(
      (signal) => this.#run(containerId, command, opts, signal, what, (e) => (killFailure = e)),
      {
        what,
        ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onTimeout: () =>
          new TimeoutError(
            `${what} did not finish within ${opts.timeoutMs} ms` +
              (killFailure ? ` and could not be killed: ${killFailure.message}` : "; it was killed"),
            killFailure ? { cause: killFailure } : {},
          ),
      },
    );
    if (result.exitCode === 137 && (await this.#oomSince(tracked, startedMs)))
      throw new OutOfMemoryError(
        `${what} was killed by the out-of-memory killer: it needed more than the container's ${Math.round(tracked.memoryBytes / MiB)} MiB of memory`,
      );
    return result;
  }

  async #run(
    containerId: string,
    command: readonly string[] | string,
    opts: ExecOptions,
    signal: AbortSignal,
    what: string,
    onKillFailure: (err: Error) => void,
  ): Promise<ExecResult> {
    const container = this.#docker.getContainer(containerId);
    let exec: Docker.Exec;
    let stream: Duplex;
    try {
      exec = await container.exec({
        Cmd: wrapCommand(command),
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(opts.env ? { Env: envList(opts.env) } : {}),
        ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
        abortSignal: signal,
      });
      // No abort signal here: after the upgrade the socket must live until the process is gone.
      stream = await exec.start({ hijack: true, stdin: false });
    } catch (err) {
      if (signal.aborted) throw err;
      throw await this.#whyNotRunning(containerId, what, err);
    }
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const stdout = new CappedOutput(max);
    const stderr = new CappedOutput(max);
    const pid = new PidLineReader();
    let callbackError: unknown;
    const demux = new FrameDemuxer((name, payload) => {
      const data = name === "stdout" ? pid.take(payload) : payload;
      if (data.length === 0) return;
      (name === "stdout" ? stdout : stderr).push(data);
      if (opts.onOutput && callbackError === undefined) {
        try {
          opts.onOutput(name, data);
        } catch (err) {
          callbackError = err;
        }
      }
    });
    const ended = new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => demux.push(chunk));
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", reject);
    });
    let onAbort = (): void => {};
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const first = await Promise.race([ended.then(() => "ended" as const), aborted]);
      if (first === "aborted") {
        await this.#stop(containerId, pid, ended, what).catch((err: unknown) => onKillFailure(asError(err)));
        throw asError(signal.reason);
      }
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ProviderError(`${what}: the output stream broke: ${errMessage(err)}`, { cause: err });
    } finally {
      signal.removeEventListener("abort", onAbort);
      pid.finish();
      stream.destroy();
    }
    if (callbackError !== undefined) throw asError(callbackError);
    return {
      exitCode: await this.#exitCode(exec, what),
      stdout: stdout.text(),
      stderr: stderr.text(),
      truncated: stdout.truncated || stderr.truncated,
    };
  }

  /**
   * Kill a running command: its process group through a `kill` in the container; failing that
   * (no pid to spare under a fork bomb), the keeper kills every process but itself.
   */
  async #stop(containerId: string, pid: PidLineReader, ended: Promise<void>, what: string): Promise<void> {
    const grace = this.#killGraceMs;
    const gone = (ms: number): Promise<boolean> =>
      within(
        ended.then(
          () => true,
          () => true,
        ),
        ms,
        false,
      );
    const target = await within(pid.wait(), grace / 4, undefined);
    if (target !== undefined) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const ok = await this.#runQuiet(containerId, killCommand(target), grace / 4).then(
          () => true,
          () => false,
        );
        if (ok && (await gone(grace / 4))) return;
        if (await gone(100)) return;
      }
    }
    await this.#docker
      .getContainer(containerId)
      .kill({ signal: "SIGUSR1" })
      .catch(() => undefined);
    if (await gone(grace / 2)) return;
    throw new ProviderError(`${what} could not be stopped within ${grace} ms`);
  }

  /** Run a helper command (no wrapper, output discarded) and wait for it, bounded. */
  async #runQuiet(containerId: string, argv: readonly string[], timeoutMs: number): Promise<void> {
    const exec = await this.#docker.getContainer(containerId).exec({
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
  }

  async #exitCode(exec: Docker.Exec, what: string): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await sleep(i < 10 ? 5 : 25);
    }
    throw new ProviderError(`${what}: the engine reports no exit code`);
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
          {
            cause: err,
          },
        );
      if (!info.State.Running)
        return new ProviderError(
          `container ${short(containerId)} is not running (${info.State.Status}); ${what} cannot run`,
          {
            cause: err,
          },
        );
    } catch {
      // The container is gone: the engine's own message says so.
    }
    return new ProviderError(`cannot run ${what} in container ${short(containerId)}: ${errMessage(err)}`, {
      cause: err,
    });
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
      throw new ProviderError(`cannot inspect container ${short(containerId)}: ${errMessage(err)}`, {
        cause: err,
      });
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
        throw new ProviderError(`cannot remove container ${short(containerId)}: ${errMessage(err)}`, {
          cause: err,
        });
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
          throw new ProviderError(`cannot remove volume ${name}: ${errMessage(err)}`, { cause: err });
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

/** `promise`'s value if it settles within `ms`, else `fallback`; the timer never outlives the race. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function short(id: string): string {
  return id.slice(0, 12);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
