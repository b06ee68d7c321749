/**
 * The povray image (images/povray) in the local image store: built from its recipe the first time
 * (Debian's packages with mmdebstrap, about half a minute to a few minutes), reused afterwards —
 * the store remembers which hash a recipe built. Progress goes to stderr.
 */
import { fileURLToPath } from "node:url";
import { ImageBuilder, ImageStore, type BuildEvent } from "../../src/images/index.js";
import { DockerRuntime } from "../../src/provider/runtime/index.js";

export const POVRAY_RECIPE = fileURLToPath(new URL("../../images/povray", import.meta.url));

function describe(e: BuildEvent): string | undefined {
  switch (e.type) {
    case "build.step":
      return `image: ${e.step} — ${e.message}`;
    case "build.done":
      return e.cached
        ? `image: povray ${e.hash.slice(0, 19)}… (in the store)`
        : `image: built povray ${e.hash.slice(0, 19)}… in ${(e.durationMs / 1000).toFixed(1)} s`;
    default:
      return undefined;
  }
}

/** The povray image's hash, building it into `store` when it is not there. */
export async function ensurePovrayImage(
  opts: { store?: ImageStore; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<string> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const runtime = new DockerRuntime();
  await runtime.ping(); // Docker not reachable: one message saying what to do
  const builder = new ImageBuilder(runtime, opts.store ?? new ImageStore());
  let first = true;
  const built = await builder.build(POVRAY_RECIPE, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (e) => {
      if (e.type === "build.step" && first) {
        first = false;
        log("image: building povray from images/povray (first run only: Debian packages, a minute or so)");
      }
      const line = describe(e);
      if (line !== undefined) log(line);
    },
  });
  return built.hash;
}
