/**
 * The Docker engine behind the ContainerRuntime and ImageEngine interfaces. This is the only
 * file in Agora that imports dockerode (DESIGN §2).
 */
import Docker from "dockerode";
import type { Readable } from "node:stream";
import { ImageError, ProviderError } from "../../errors.js";
import type { ImageConfig, ImageEngine } from "./types.js";

export interface DockerRuntimeOptions {
  /** Path of the engine's socket. @default "/var/run/docker.sock" (or DOCKER_HOST when set) */
  readonly socketPath?: string;
}

interface ProgressEvent {
  readonly status?: string;
  readonly stream?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

export class DockerRuntime implements ImageEngine {
  readonly #docker: Docker;

  constructor(opts: DockerRuntimeOptions = {}) {
    this.#docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
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

  async importRootfs(rootfs: Readable, opts: { changes: readonly string[]; tag: string }): Promise<string> {
    const [repo, tag = "latest"] = splitTag(opts.tag);
    const stream = (await this.#docker.importImage(rootfs, {
      repo,
      tag,
      changes: [...opts.changes],
    }));
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
    const stream = (await this.#docker.loadImage(archive, {
      quiet: true,
    }));
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
