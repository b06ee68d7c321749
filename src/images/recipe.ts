/**
 * Image recipes: `images/<name>/recipe.json` plus a `files/` folder. A recipe names Debian packages
 * (installed offline-style by mmdebstrap), files with modes, symlinks, volumes, a non-root user,
 * env, workdir and entrypoints. Its cache key hashes everything that goes into the image.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, posix, relative, resolve, sep } from "node:path";
import { z } from "zod";
import { RecipeError } from "./errors.js";
import { errorMessage, isNotFound } from "./util.js";

/** Bump when the builder's output for an unchanged recipe changes: it invalidates cached builds. */
export const BUILDER_VERSION = 1;

const absPath = z
  .string()
  .regex(/^\/[^\0\n]*$/, "must be an absolute path")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
  .refine((p) => p === "/" || !p.endsWith("/"), "must not end with '/'")
  .transform((p) => posix.normalize(p));

const mode = z
  .union([z.number().int(), z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal string like "0755"')])
  .transform((m) => (typeof m === "number" ? m : parseInt(m, 8)))
  .refine((m) => m >= 0 && m <= 0o7777, "must be between 0 and 07777");

/** A path relative to the recipe's `files/` folder. */
const filesPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "must be a relative path inside files/");

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a lowercase name like "agora"');

const recipeSchema = z.strictObject({
  /** The image's name (shown by `agora image ls`). */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lowercase letters, digits, '.', '_' or '-'"),
  description: z.string().optional(),
  debian: z.strictObject({
    /** Debian suite, e.g. "bookworm". */
    suite: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a Debian suite name like "bookworm"'),
    /** mmdebstrap variant: `extract` only unpacks the packages (no dpkg run). */
    variant: z.enum([
      "extract",
      "custom",
      "essential",
      "apt",
      "minbase",
      "required",
      "important",
      "standard",
    ]),
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, "must be a Debian package name")).min(1),
    /** @default "http://deb.debian.org/debian" */
    mirror: z.url().optional(),
    /** Components. @default ["main"] */
    components: z.array(z.string().regex(/^[a-z-]+$/)).optional(),
  }),
  files: z
    .array(
      z.strictObject({
        /** Path relative to the recipe's `files/` folder. */
        src: filesPath,
        dest: absPath,
        mode: mode.optional(),
        /** Who owns the file in the image. @default "root" */
        owner: z.enum(["root", "user"]).optional(),
      }),
    )
    .default([]),
  symlinks: z
    .array(
      z.strictObject({
        /** The link text, e.g. "busybox" or "/bin/busybox". */
        target: z.string().min(1),
        /** Where the links are created. */
        paths: z.array(absPath).min(1),
      }),
    )
    .default([]),
  /** Directories created empty, owned by the user, and declared as Docker volumes. */
  volumes: z.array(absPath).default([]),
  /** Executables placed under /golem/entrypoints/ (mode 0755). */
  entrypoints: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a plain file name"),
        src: filesPath,
      }),
    )
    .default([]),
  user: z.strictObject({
    name,
    uid: z.number().int().min(1, "must not be 0: the image user is never root").max(65534),
    gid: z.number().int().min(1, "must not be 0: the image user is never root").max(65534),
    /** @default "/tmp" */
    home: absPath.optional(),
    /** @default "/bin/sh" */
    shell: absPath.optional(),
  }),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"),
      z.string().regex(/^[^\n\0]*$/, "must be one line"),
    )
    .default({}),
  /** @default the first volume, else "/" */
  workdir: absPath.optional(),
  /** Docker ENTRYPOINT / CMD (exec form). */
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
});

export type Recipe = z.output<typeof recipeSchema>;

/** A parsed recipe and where it lives. */
export interface LoadedRecipe {
  readonly dir: string;
  readonly recipe: Recipe;
  /** `recipe-<hex>`: hash of recipe.json, every file under files/ and their mode bits, and the builder version. */
  readonly key: string;
}

/** Parse recipe.json content; throw a RecipeError naming each bad field. */
export function parseRecipe(text: string, where = "recipe.json"): Recipe {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RecipeError(`${where} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  const parsed = recipeSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const field = i.path.length > 0 ? i.path.map(String).join(".") : "(root)";
      return `  ${field}: ${i.message}`;
    });
    throw new RecipeError(`${where} is invalid:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** Read and validate `<dir>/recipe.json`, check the files it names exist, and compute the cache key. */
export async function loadRecipe(dir: string): Promise<LoadedRecipe> {
  const root = resolve(dir);
  const where = join(root, "recipe.json");
  let text: string;
  try {
    text = await readFile(where, "utf8");
  } catch (err) {
    throw new RecipeError(`cannot read ${where}: is ${dir} a recipe folder?`, { cause: err });
  }
  const recipe = parseRecipe(text, where);
  const files = await listFiles(join(root, "files"));
  const present = new Set(files.map((f) => f.rel));
  const wanted = [...recipe.files.map((f) => f.src), ...recipe.entrypoints.map((e) => e.src)];
  const missing = wanted.filter((src) => !present.has(posix.normalize(src)));
  if (missing.length > 0)
    throw new RecipeError(`${where} names files missing from ${join(root, "files")}: ${missing.join(", ")}`);
  const h = createHash("sha256");
  h.update(`agora-recipe-v${BUILDER_VERSION}\0${text}\0`);
  for (const f of files) {
    h.update(`${f.rel}\0${(f.mode & 0o7777).toString(8)}\0${f.size}\0`);
    h.update(await readFile(join(root, "files", f.rel)));
  }
  return { dir: root, recipe, key: `recipe-${h.digest("hex")}` };
}

interface FileEntry {
  readonly rel: string;
  readonly mode: number;
  readonly size: number;
}

/** Regular files under `dir` (sorted, posix-relative); links and special files are refused. */
async function listFiles(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  async function walk(d: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (err) {
      if (d === dir && isNotFound(err)) return;
      throw err;
    }
    for (const n of names.sort()) {
      const p = join(d, n);
      const st = await lstat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile())
        out.push({ rel: relative(dir, p).split(sep).join("/"), mode: st.mode, size: st.size });
      else throw new RecipeError(`${p} is not a regular file or folder (links are not allowed in files/)`);
    }
  }
  await walk(dir);
  return out;
}
