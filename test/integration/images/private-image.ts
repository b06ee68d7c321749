/**
 * A private copy of the busybox test image under its own recipe name: tests that remove it from
 * the engine (to check what a fetch loads) touch no image another test relies on. Built once into
 * the shared test store (cached by recipe content like every recipe).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageBuilder, ImageStore, type ImageHash } from "../../../src/images/index.js";
import type { ImageEngine } from "../../../src/provider/runtime/index.js";
import { BUSYBOX_RECIPE_DIR, testImageStoreRoot } from "../helpers/busybox-image.js";

export interface PrivateImage {
  readonly hash: ImageHash;
  readonly imageId: string;
  /** The `docker save` archive's bytes. */
  readonly archive: Buffer;
  /** Its path in the shared test store. */
  readonly path: string;
}

export async function privateImage(engine: ImageEngine, name: string): Promise<PrivateImage> {
  const dir = await mkdtemp(join(tmpdir(), "agora-private-image-"));
  try {
    const recipeDir = join(dir, "recipe");
    await cp(BUSYBOX_RECIPE_DIR, recipeDir, { recursive: true });
    const recipe = JSON.parse(await readFile(join(recipeDir, "recipe.json"), "utf8")) as { name: string };
    await writeFile(join(recipeDir, "recipe.json"), JSON.stringify({ ...recipe, name }));
    const store = new ImageStore({ root: testImageStoreRoot() });
    const built = await new ImageBuilder(engine, store).build(recipeDir);
    const path = store.archivePath(built.hash);
    return { hash: built.hash, imageId: built.imageId, archive: await readFile(path), path };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
