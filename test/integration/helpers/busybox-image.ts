/**
 * The busybox test image (images/busybox), built once per test run from Debian's busybox-static
 * and reused: concurrent callers in one file share one build, later files (and later runs) find
 * the archive in the test image store by the recipe's content key and only reload it into Docker
 * when the engine lost it.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ImageBuilder, ImageStore } from "../../../src/images/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";

/** The recipe folder of the busybox test image. */
export const BUSYBOX_RECIPE_DIR = fileURLToPath(new URL("../../../images/busybox", import.meta.url));

/** The image store the integration tests share: `$AGORA_TEST_HOME/images`, default `<tmpdir>/agora-test/images`. */
export function testImageStoreRoot(): string {
  return join(process.env.AGORA_TEST_HOME ?? join(tmpdir(), "agora-test"), "images");
}

let pending: Promise<string> | undefined;

/** The Docker image id of the busybox test image, loaded in the local engine. */
export function busyboxImage(): Promise<string> {
  pending ??= build().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function build(): Promise<string> {
  const builder = new ImageBuilder(new DockerRuntime(), new ImageStore({ root: testImageStoreRoot() }));
  const built = await builder.build(BUSYBOX_RECIPE_DIR);
  return built.imageId;
}
