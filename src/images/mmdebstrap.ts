/** Run mmdebstrap to produce a Debian root filesystem as a tar stream on its stdout. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { ImageError, toAbortError } from "../errors.js";
import type { Recipe } from "./recipe.js";
import { DPKG_PATH_EXCLUDES } from "./rootfs.js";

export const DEFAULT_MIRROR = "http://deb.debian.org/debian";

export interface Bootstrap {
  /** The root filesystem, as a tar stream. */
  readonly tar: Readable;
  /** Resolves when mmdebstrap exited 0; rejects with an ImageError carrying its last log lines otherwise. */
  readonly done: Promise<void>;
  /** Stop mmdebstrap (when the consumer of the tar failed). */
  kill(): void;
}

/** The mmdebstrap argument list for a recipe (exported for tests). */
export function mmdebstrapArgs(debian: Recipe["debian"]): string[] {
  const args = [
    `--variant=${debian.variant}`,
    "--format=tar",
    `--include=${debian.packages.join(",")}`,
    `--components=${(debian.components ?? ["main"]).join(",")}`,
    '--aptopt=APT::Install-Recommends "false"',
    '--aptopt=APT::Install-Suggests "false"',
  ];
  if (debian.variant !== "extract" && debian.variant !== "custom")
    for (const opt of DPKG_PATH_EXCLUDES) args.push(`--dpkgopt=${opt}`);
  args.push(debian.suite, "-", debian.mirror ?? DEFAULT_MIRROR);
  return args;
}

/** Start mmdebstrap; its stderr lines go to `onLog`. Aborting kills it. */
export function bootstrap(
  debian: Recipe["debian"],
  opts: { onLog?: (line: string) => void; signal?: AbortSignal; command?: string } = {},
): Bootstrap {
  const command = opts.command ?? "mmdebstrap";
  const child = spawn(command, mmdebstrapArgs(debian), { stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    opts.onLog?.(line);
  });
  const onAbort = (): void => {
    child.stdout.destroy();
    child.kill("SIGTERM");
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (err) => {
      reject(
        new ImageError(`cannot run ${command}: ${err.message} (install it with \`npm run setup\`)`, {
          cause: err,
        }),
      );
    });
    child.once("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) reject(toAbortError(opts.signal, "mmdebstrap"));
      else if (code === 0) resolve();
      else
        reject(
          new ImageError(
            `mmdebstrap failed (${code === null ? `signal ${sig}` : `exit code ${code}`}) for ` +
              `${debian.suite} [${debian.packages.join(", ")}]:\n${tail.join("\n")}`,
          ),
        );
    });
  });
  // Callers await `done` after the tar; keep an early failure from being reported as unhandled.
  done.catch(() => undefined);
  return {
    tar: child.stdout,
    done,
    kill: () => {
      child.stdout.destroy();
      if (child.exitCode === null) child.kill("SIGTERM");
    },
  };
}
