/**
 * Build an agora image from a recipe: mmdebstrap → tar merge → `docker import` with changes →
 * `docker save` hashed into the store. Cached by the recipe's content key.
 */
import type { ImageEngine } from "../provider/runtime/index.js";
import { mapAbort } from "./abort.js";
import { loadRecipe, type LoadedRecipe, type Recipe } from "./recipe.js";
import { bootstrap } from "./mmdebstrap.js";
import { assembleRootfs, planRootfs } from "./rootfs.js";
import { ensureLoaded, storeFromEngine } from "./engine-io.js";
import type { ImageStore } from "./store.js";
import type { BuildEvent, BuiltImage } from "./types.js";

export interface BuildOptions {
  readonly onProgress?: (event: BuildEvent) => void;
  readonly signal?: AbortSignal;
  /** Rebuild even when the store has a result for this recipe. @default false */
  readonly force?: boolean;
  /** The mmdebstrap executable. @default "mmdebstrap" */
  readonly mmdebstrap?: string;
}

/** Dockerfile-style changes for `docker import`. */
export function importChanges(recipe: Recipe): string[] {
  const changes: string[] = [];
  for (const v of recipe.volumes) changes.push(`VOLUME ${JSON.stringify([v])}`);
  for (const [k, v] of Object.entries(recipe.env)) changes.push(`ENV ${k}=${JSON.stringify(v)}`);
  changes.push(`USER ${recipe.user.name}`);
  changes.push(`WORKDIR ${recipe.workdir ?? recipe.volumes[0] ?? "/"}`);
  if (recipe.entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(recipe.entrypoint)}`);
  if (recipe.cmd) changes.push(`CMD ${JSON.stringify(recipe.cmd)}`);
  return changes;
}

/** Builds recipes into the store; concurrent builds of one recipe share one run. */
export class ImageBuilder {
  readonly #engine: ImageEngine;
  readonly #store: ImageStore;
  readonly #inflight = new Map<string, Promise<BuiltImage>>();

  constructor(engine: ImageEngine, store: ImageStore) {
    this.#engine = engine;
    this.#store = store;
  }

  /** Build the recipe in `dir` (or reuse the stored result) and make sure the engine has it. */
  async build(dir: string, opts: BuildOptions = {}): Promise<BuiltImage & { readonly name: string }> {
    const loaded = await loadRecipe(dir);
    const running = this.#inflight.get(loaded.key);
    if (running) return { ...(await running), name: loaded.recipe.name };
    const job = mapAbort(opts.signal, `building ${loaded.recipe.name}`, () =>
      this.#build(loaded, opts),
    ).finally(() => this.#inflight.delete(loaded.key));
    this.#inflight.set(loaded.key, job);
    return { ...(await job), name: loaded.recipe.name };
  }

  async #build(loaded: LoadedRecipe, opts: BuildOptions): Promise<BuiltImage> {
    const started = Date.now();
    const emit = opts.onProgress ?? ((): void => undefined);
    const { recipe, key } = loaded;
    emit({ type: "build.started", name: recipe.name, recipeKey: key });

    const cachedHash = opts.force ? undefined : await this.#store.recipeResult(key);
    if (cachedHash) {
      emit({ type: "build.cached", name: recipe.name, hash: cachedHash });
      const img = await ensureLoaded(this.#engine, this.#store, cachedHash, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onLoad: () =>
          emit({ type: "build.step", step: "load", message: "loading the stored archive into Docker" }),
      });
      const built = { hash: cachedHash, imageId: img.imageId, sizeBytes: img.sizeBytes, cached: true };
      emit({ type: "build.done", name: recipe.name, ...built, durationMs: Date.now() - started });
      return built;
    }

    const plan = await planRootfs(loaded.dir, recipe);
    emit({
      type: "build.step",
      step: "bootstrap",
      message: `mmdebstrap ${recipe.debian.suite} (${recipe.debian.variant}): ${recipe.debian.packages.join(", ")}`,
    });
    const base = bootstrap(recipe.debian, {
      onLog: (line) => emit({ type: "build.log", line }),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.mmdebstrap ? { command: opts.mmdebstrap } : {}),
    });
    const rootfs = assembleRootfs(base.tar, base.done, plan);
    let bytes = 0;
    const report = throttle((n) => emit({ type: "build.bytes", step: "import", bytes: n }));
    rootfs.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      report(bytes);
    });
    rootfs.pause();
    emit({ type: "build.step", step: "import", message: "docker import of the root filesystem" });
    // A failed rootfs (mmdebstrap or a recipe error) must fail the build, not leave the import waiting.
    const rootfsFailed = new Promise<never>((_, reject) => rootfs.once("error", reject));
    rootfsFailed.catch(() => undefined);
    let imageId: string;
    try {
      imageId = await Promise.race([
        this.#engine.importRootfs(rootfs, {
          changes: importChanges(recipe),
          tag: `agora-build/${recipe.name}:${key.slice("recipe-".length, "recipe-".length + 12)}`,
        }),
        rootfsFailed,
      ]);
      await base.done;
    } catch (err) {
      rootfs.destroy();
      base.kill();
      await base.done.catch(() => undefined);
      throw err;
    }
    emit({ type: "build.bytes", step: "import", bytes });
    emit({ type: "build.step", step: "save", message: `docker save ${imageId} into the store` });
    const stored = await storeFromEngine(this.#engine, this.#store, imageId, {
      name: recipe.name,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onBytes: throttle((n) => emit({ type: "build.bytes", step: "save", bytes: n })),
    });
    await this.#store.setRecipeResult(key, stored.hash);
    const built = { hash: stored.hash, imageId, sizeBytes: stored.sizeBytes, cached: false };
    emit({ type: "build.done", name: recipe.name, ...built, durationMs: Date.now() - started });
    return built;
  }
}

/** Call `fn` with a byte count at most once per `step` bytes. */
function throttle(fn: (bytes: number) => void, step = 8 << 20): (bytes: number) => void {
  let next = step;
  return (bytes) => {
    if (bytes < next) return;
    next = bytes + step;
    fn(bytes);
  };
}
