/**
 * What a hardened container looks like (DESIGN §8), as plain data: the create options, the keeper
 * process that holds the container open, and the wrapper that makes each command killable.
 * Docker-free: docker.ts hands these objects to the engine.
 */
import { ConfigError, ImageError, UserError } from "../../errors.js";
import type { ResourceLimits } from "./types.js";

/** Labels on every container and volume Agora creates. */
export const LABEL_AGENT = "agora.agent";
export const LABEL_ACTIVITY = "agora.activity";
/** On volumes: the mount point the volume serves. */
export const LABEL_VOLUME_PATH = "agora.volume-path";

/**
 * PID 1's child: sleeps until the container is removed. On SIGUSR1 it kills every other process
 * in the container (the last resort when a command cannot be killed by its process group, e.g.
 * when a fork bomb leaves no pid for a `kill`).
 */
export const KEEPER_COMMAND: readonly string[] = [
  "/bin/sh",
  "-c",
  'trap "exit 0" TERM; trap "kill -9 -1" USR1; while :; do sleep 3600 & wait $!; done',
];

/**
 * Every command runs under this wrapper: it prints its pid (it leads its own process group) as
 * the first stdout line, makes itself and its children the OOM killer's first choice (so the
 * keeper survives a memory hog), then replaces itself with the command.
 */
const WRAPPER = 'echo "$$"; { echo 1000 >/proc/self/oom_score_adj; } 2>/dev/null; exec "$@"';

/** The argv the engine runs for `command` (an argv, or a shell string run by /bin/sh -c). */
export function wrapCommand(command: readonly string[] | string): string[] {
  const argv = typeof command === "string" ? ["/bin/sh", "-c", command] : [...command];
  return ["/bin/sh", "-c", WRAPPER, "agora-exec", ...argv];
}

/** Kill the process group `pid` leads (falling back to the process alone). Shell builtins only. */
export function killCommand(pid: number): string[] {
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new RangeError(`refusing to kill pid ${pid}`);
  return ["/bin/sh", "-c", `kill -9 -${pid} 2>/dev/null || kill -9 ${pid} 2>/dev/null; exit 0`];
}

/** The command line as a short text, for error messages. */
export function describeCommand(command: readonly string[] | string): string {
  const text = typeof command === "string" ? command : command.join(" ");
  return text.length > 120 ? text.slice(0, 117) + "..." : text;
}

/** How the image's USER reads: numeric ids, or a name to resolve from the image's /etc/passwd. */
export type ImageUser =
  | { readonly kind: "ids"; readonly uid: number; readonly gid: number }
  | { readonly kind: "name"; readonly name: string; readonly group?: string };

/** Parse the image's USER; refuse root (empty USER means root) with an ImageError that says what to do. */
export function parseImageUser(image: string, user: string): ImageUser {
  const refuse = (why: string): never => {
    throw new ImageError(
      `image ${image} would run as root (${why}); Agora runs work only as a non-root user: set a non-root USER in the image`,
    );
  };
  const trimmed = user.trim();
  if (trimmed === "") return refuse("it declares no USER");
  const [u = "", g] = trimmed.split(":", 2);
  if (u === "root" || u === "0") return refuse(`USER is ${JSON.stringify(trimmed)}`);
  if (/^[0-9]+$/.test(u)) {
    if (g !== undefined && !/^[0-9]+$/.test(g))
      throw new ImageError(
        `image ${image} has USER ${JSON.stringify(trimmed)}: use a numeric group with a numeric user`,
      );
    return { kind: "ids", uid: Number(u), gid: g === undefined ? Number(u) : Number(g) };
  }
  return g === undefined ? { kind: "name", name: u } : { kind: "name", name: u, group: g };
}

/** Resolve a user name with the image's /etc/passwd (and /etc/group for a named group). */
export function resolveUserName(
  image: string,
  user: { readonly name: string; readonly group?: string },
  passwd: string,
  group: string,
): { uid: number; gid: number } {
  const entry = passwd
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => f[0] === user.name);
  if (!entry || !/^[0-9]+$/.test(entry[2] ?? "") || !/^[0-9]+$/.test(entry[3] ?? ""))
    throw new ImageError(`image ${image} declares USER ${user.name}, which its /etc/passwd does not define`);
  const uid = Number(entry[2]);
  if (uid === 0)
    throw new ImageError(
      `image ${image} would run as root (USER ${user.name} has uid 0); Agora runs work only as a non-root user`,
    );
  let gid = Number(entry[3]);
  if (user.group !== undefined) {
    const g = /^[0-9]+$/.test(user.group)
      ? user.group
      : group
          .split("\n")
          .map((l) => l.split(":"))
          .find((f) => f[0] === user.group)?.[2];
    if (g === undefined || !/^[0-9]+$/.test(g))
      throw new ImageError(
        `image ${image} declares group ${user.group}, which its /etc/group does not define`,
      );
    gid = Number(g);
  }
  return { uid, gid };
}

/** A named volume to create and mount. */
export interface VolumeMount {
  readonly name: string;
  readonly target: string;
}

/** The subset of the engine's create options Agora sets; docker.ts passes it through. */
export interface HardenedSpec {
  readonly Image: string;
  readonly name: string;
  readonly User: string;
  readonly Entrypoint: string[];
  readonly Cmd: string[];
  readonly Env: string[];
  readonly Labels: Record<string, string>;
  readonly NetworkDisabled: boolean;
  readonly HostConfig: {
    readonly NetworkMode: "none";
    readonly ReadonlyRootfs: true;
    readonly CapDrop: string[];
    readonly SecurityOpt: string[];
    readonly Privileged: false;
    readonly Init: true;
    readonly IpcMode: "private";
    readonly PidsLimit: number;
    readonly Memory: number;
    readonly MemorySwap: number;
    readonly NanoCpus: number;
    readonly LogConfig: { readonly Type: "json-file"; readonly Config: Record<string, string> };
    readonly Tmpfs: Record<string, string>;
    readonly Mounts: { Type: "volume"; Source: string; Target: string; ReadOnly: false }[];
    readonly RestartPolicy: { readonly Name: "no" };
  };
}

export interface SpecInput {
  readonly image: string;
  readonly name: string;
  /** `uid:gid`, or the image's user name (resolved and checked by the caller). */
  readonly user: string;
  readonly limits: ResourceLimits;
  readonly labels: Readonly<Record<string, string>>;
  readonly volumes: readonly VolumeMount[];
  readonly env?: Readonly<Record<string, string>>;
}

/** The create options of a hardened container: every item of DESIGN §8. */
export function hardenedSpec(input: SpecInput): HardenedSpec {
  const { limits } = input;
  for (const [key, value] of Object.entries(limits))
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new ConfigError(`resource limit ${key} must be a positive integer, got ${value}`);
  return {
    Image: input.image,
    name: input.name,
    User: input.user,
    Entrypoint: [""],
    Cmd: [...KEEPER_COMMAND],
    Env: envList(input.env ?? {}),
    Labels: { ...input.labels },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      Init: true,
      IpcMode: "private",
      PidsLimit: limits.pidsLimit,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      LogConfig: { Type: "json-file", Config: { "max-size": String(limits.logMaxBytes), "max-file": "1" } },
      Tmpfs: { "/tmp": `rw,noexec,nosuid,nodev,size=${limits.tmpfsBytes},mode=1777` },
      Mounts: input.volumes.map((v) => ({
        Type: "volume",
        Source: v.name,
        Target: v.target,
        ReadOnly: false,
      })),
      RestartPolicy: { Name: "no" },
    },
  };
}

/** `KEY=value` strings, refusing names the environment cannot carry. */
export function envList(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new UserError(`invalid environment variable name ${JSON.stringify(k)}`);
    if (v.includes("\0")) throw new UserError(`environment variable ${k} contains a NUL byte`);
    return `${k}=${v}`;
  });
}

/** A name the engine accepts for containers and volumes, derived from an id. */
export function engineName(prefix: string, id: string, suffix: string): string {
  const clean = id.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 48);
  return `${prefix}-${clean}-${suffix}`;
}
