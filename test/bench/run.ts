/**
 * `npm run bench`: runs every `test/bench/*.bench.ts` (or those named on the command line, e.g.
 * `npm run bench -- runtime`) one after another; each prints its own table against a raw baseline
 * measured in the same run.
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

interface BenchModule {
  run(): Promise<void>;
}

const dir = fileURLToPath(new URL(".", import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(dir))
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(", ")}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  try {
    const mod = (await import(new URL(file, import.meta.url).href)) as BenchModule;
    await mod.run();
  } catch (err) {
    failed++;
    console.error(`${file} failed:`, err);
  }
}
process.exit(failed === 0 ? 0 : 1);
