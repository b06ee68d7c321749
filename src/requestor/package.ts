/**
 * The package a computation runs: a Docker image by content hash plus the resources it needs
 * (`docker.repo({ imageHash, minMemGib, … })`). Validated here, turned into a demand by the Executor.
 */
import { z } from "zod";
import { UserError } from "../errors.js";
import { parseImageHash, type ImageHash } from "../images/index.js";

export interface PackageOptions {
  /** The image's content hash, `sha256:<64 hex>` (what `agora image build` prints). */
  readonly imageHash: string;
  /** @default 0.5 */
  readonly minMemGib?: number;
  /** @default 2 */
  readonly minStorageGib?: number;
  /** @default 1 */
  readonly minCpuThreads?: number;
  /** An HTTP(S) URL providers may fetch the image from (besides the requestor). @default none */
  readonly source?: string;
}

/** A resolved package: what the demand asks for. */
export interface Package {
  readonly imageHash: ImageHash;
  readonly minMemGib: number;
  readonly minStorageGib: number;
  readonly minCpuThreads: number;
  readonly source: string | undefined;
  /** `docker:sha256:<hex>[@<source>]`, the demand's `agora.srv.comp.task_package`. */
  readonly taskPackage: string;
}

const schema = z.object({
  imageHash: z.string(),
  minMemGib: z.number().positive().max(1_000_000).default(0.5),
  minStorageGib: z.number().positive().max(1_000_000).default(2),
  minCpuThreads: z.number().int().positive().max(100_000).default(1),
  source: z.url({ protocol: /^https?$/ }).optional(),
});

function repo(options: PackageOptions): Package {
  const r = schema.safeParse(options);
  if (!r.success) throw new UserError(`invalid package: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  let imageHash: ImageHash;
  try {
    imageHash = parseImageHash(r.data.imageHash);
  } catch (err) {
    throw new UserError(
      `invalid package: imageHash ${JSON.stringify(r.data.imageHash)} is not sha256:<64 hex>`,
      {
        cause: err,
      },
    );
  }
  const { source } = r.data;
  return Object.freeze({
    imageHash,
    minMemGib: r.data.minMemGib,
    minStorageGib: r.data.minStorageGib,
    minCpuThreads: r.data.minCpuThreads,
    source,
    taskPackage: `docker:${imageHash}${source === undefined ? "" : `@${source}`}`,
  });
}

/** Packages for the docker runtime. */
export const docker = Object.freeze({ repo });

/** A short description of what the package asks for (for error messages). */
export function describePackage(pkg: Package, subnet: string): string {
  return (
    `${pkg.taskPackage} with ≥ ${pkg.minCpuThreads} thread(s), ≥ ${pkg.minMemGib} GiB memory, ` +
    `≥ ${pkg.minStorageGib} GiB storage in subnet "${subnet}"`
  );
}

/** Whether `value` is a resolved package. */
export function isPackage(value: unknown): value is Package {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Package).taskPackage === "string" &&
    typeof (value as Package).imageHash === "string"
  );
}
