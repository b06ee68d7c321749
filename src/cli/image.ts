/** `agora image build | pack | ls | rm`. */
import { Command, Option } from "commander";
import { UserError } from "../errors.js";
import { ImageBuilder, ImageStore, packImage, parseImageHash, type BuildEvent } from "../images/index.js";
import { DockerRuntime } from "../provider/runtime/index.js";
import { formatBytes, table } from "./format.js";

interface StoreOpts {
  readonly store?: string;
}

function openStore(opts: StoreOpts): ImageStore {
  return new ImageStore(opts.store === undefined ? {} : { root: opts.store });
}

async function engine(): Promise<DockerRuntime> {
  const rt = new DockerRuntime();
  await rt.ping();
  return rt;
}

/** Human progress lines (stderr) for build events. */
export function describeBuildEvent(e: BuildEvent): string | undefined {
  switch (e.type) {
    case "build.started":
      return `building ${e.name} (${e.recipeKey.slice(0, 19)})`;
    case "build.cached":
      return `${e.name}: recipe unchanged, reusing ${e.hash}`;
    case "build.step":
      return `» ${e.step}: ${e.message}`;
    case "build.log":
      return `  ${e.line}`;
    case "build.bytes":
      return `  ${e.step}: ${formatBytes(e.bytes)}`;
    case "build.done":
      return `${e.cached ? "reused" : "built"} ${e.name}: ${formatBytes(e.sizeBytes)} in ${(e.durationMs / 1000).toFixed(1)} s`;
  }
}

export function imageCommand(): Command {
  const cmd = new Command("image").description("build, pack and manage content-addressed agora images");
  const storeOption = new Option(
    "--store <dir>",
    "image store folder (default: $AGORA_HOME/images, ~/.agora/images)",
  );

  cmd
    .command("build")
    .description("build an image from a recipe folder (images/<name>) and print its hash")
    .argument("<dir>", "recipe folder holding recipe.json and files/")
    .option("--force", "rebuild even when the recipe is unchanged")
    .option("-q, --quiet", "print only the hash")
    .addOption(storeOption)
    .action(async (dir: string, opts: StoreOpts & { force?: boolean; quiet?: boolean }) => {
      const builder = new ImageBuilder(await engine(), openStore(opts));
      const ac = new AbortController();
      const onSigint = (): void => ac.abort(new UserError("interrupted"));
      process.once("SIGINT", onSigint);
      try {
        const built = await builder.build(dir, {
          force: opts.force === true,
          signal: ac.signal,
          onProgress: (e) => {
            const line = opts.quiet ? undefined : describeBuildEvent(e);
            if (line !== undefined) console.error(line);
          },
        });
        console.log(built.hash);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });

  cmd
    .command("pack")
    .description("turn a local Docker image into an agora image and print its hash")
    .argument("<docker-ref>", "a local Docker image (tag or id)")
    .addOption(storeOption)
    .action(async (ref: string, opts: StoreOpts) => {
      const packed = await packImage(await engine(), openStore(opts), ref);
      for (const w of packed.warnings) console.error(`warning: ${w}`);
      console.error(`packed ${ref}: ${formatBytes(packed.sizeBytes)}`);
      console.log(packed.hash);
    });

  cmd
    .command("ls")
    .description("list stored images, most recently used first")
    .option("--json", "print JSON")
    .addOption(storeOption)
    .action(async (opts: StoreOpts & { json?: boolean }) => {
      const store = openStore(opts);
      const images = await store.list();
      if (opts.json) {
        console.log(JSON.stringify(images, null, 2));
        return;
      }
      const rows = images.map((i) => [
        i.hash,
        formatBytes(i.sizeBytes),
        i.lastUsed.toISOString(),
        i.name ?? "",
      ]);
      console.log(table([["HASH", "SIZE", "LAST USED", "NAME"], ...rows]));
      const total = images.reduce((n, i) => n + i.sizeBytes, 0);
      console.error(`${images.length} image(s), ${formatBytes(total)} in ${store.root}`);
    });

  cmd
    .command("rm")
    .description("remove stored images by hash")
    .argument("<hash...>", "sha256:<hex> hashes")
    .addOption(storeOption)
    .action(async (hashes: string[], opts: StoreOpts) => {
      const store = openStore(opts);
      const parsed = hashes.map(parseImageHash);
      const missing: string[] = [];
      for (const h of parsed) {
        if (await store.remove(h)) console.log(`removed ${h}`);
        else missing.push(h);
      }
      if (missing.length > 0) throw new UserError(`not in the store ${store.root}: ${missing.join(", ")}`);
    });

  return cmd;
}
