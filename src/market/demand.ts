/** Building a requestor's demand (DESIGN §5). */
import { z } from "zod";
import { MarketError, UserError } from "../errors.js";
import { escapeConstraintValue } from "./constraint-parser.js";
import { parseProperties, PROP, type Properties } from "./properties.js";
import { SpecBuilder, type Demand } from "./spec.js";

/** `docker:sha256:<hex>[@<source>]` (DESIGN §5). */
export const TASK_PACKAGE_RE = /^docker:sha256:[0-9a-f]{64}(@\S{1,1024})?$/;

export class DemandBuilder extends SpecBuilder<Demand> {
  /** Ask for this subnet only: sets `agora.node.subnet` and requires the offer to be in it. */
  subnet(tag: string): this {
    return this.set(PROP.subnet, tag).require(`(${PROP.subnet}=${escapeConstraintValue(tag)})`);
  }

  /** The image the work needs. @throws UserError unless `docker:sha256:<hex>[@<source>]`. */
  taskPackage(ref: string): this {
    if (!TASK_PACKAGE_RE.test(ref)) {
      throw new UserError(
        `invalid task package ${JSON.stringify(ref)}: expected docker:sha256:<64 hex>[@<source>]`,
      );
    }
    return this.set(PROP.taskPackage, ref);
  }

  /** When the demand (and any agreement made from it) expires, epoch ms. */
  expiresAt(epochMs: number): this {
    if (!Number.isSafeInteger(epochMs) || epochMs <= 0) throw new UserError(`invalid expiration ${epochMs}`);
    return this.set(PROP.expiration, epochMs);
  }

  /** Require a runtime, e.g. `docker`. */
  runtime(name: string): this {
    return this.require(`(${PROP.runtimeName}=${escapeConstraintValue(name)})`);
  }

  /** Require at least these resources. */
  minResources(r: { cpuThreads?: number; memGib?: number; storageGib?: number }): this {
    if (r.cpuThreads !== undefined)
      this.require(`(${PROP.cpuThreads}>=${positive(r.cpuThreads, "cpuThreads")})`);
    if (r.memGib !== undefined) this.require(`(${PROP.memGib}>=${positive(r.memGib, "memGib")})`);
    if (r.storageGib !== undefined)
      this.require(`(${PROP.storageGib}>=${positive(r.storageGib, "storageGib")})`);
    return this;
  }

  /** Require linear pricing, the only model the requestor strategies understand. */
  linearPricing(): this {
    return this.require(`(${PROP.pricingModel}=linear)`);
  }

  build(): Demand {
    return { kind: "demand", ...this.spec() };
  }
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0)
    throw new UserError(`invalid ${what}: ${n} (expected a positive number)`);
  return n;
}

const demandOptionsSchema = z.strictObject({
  taskPackage: z.string().regex(TASK_PACKAGE_RE, "expected docker:sha256:<64 hex>[@<source>]"),
  expiresAt: z.number().int().positive(),
  subnet: z.string().min(1).max(128).default("public"),
  runtime: z.string().min(1).max(64).default("docker"),
  minCpuThreads: z.number().positive().finite().default(1),
  minMemGib: z.number().positive().finite().default(0.5),
  minStorageGib: z.number().positive().finite().default(2),
  constraints: z.array(z.string()).default([]),
  properties: z.record(z.string(), z.unknown()).default({}),
});

/** What a demand asks for. */
export interface DemandOptions {
  /** The image, `docker:sha256:<hex>[@<source>]`. */
  readonly taskPackage: string;
  /** Expiration, epoch ms. */
  readonly expiresAt: number;
  /** @default "public" */
  readonly subnet?: string;
  /** @default "docker" */
  readonly runtime?: string;
  /** @default 1 */
  readonly minCpuThreads?: number;
  /** @default 0.5 */
  readonly minMemGib?: number;
  /** @default 2 */
  readonly minStorageGib?: number;
  /** Extra filters on the offer. @default [] */
  readonly constraints?: readonly string[];
  /** Extra demand properties. @default {} */
  readonly properties?: Properties;
}

export type ResolvedDemandOptions = Readonly<Required<DemandOptions>>;

/** Validate demand options and fill in defaults. @throws UserError naming the bad option. */
export function resolveDemandOptions(options: DemandOptions): ResolvedDemandOptions {
  const r = demandOptionsSchema.safeParse(options);
  if (!r.success)
    throw new UserError(`invalid demand options: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  let properties: Properties;
  try {
    properties = parseProperties(r.data.properties);
  } catch (err) {
    throw err instanceof MarketError
      ? new UserError(`invalid demand options: ${err.message}`, { cause: err })
      : err;
  }
  return Object.freeze({ ...r.data, properties });
}

/** The usual demand: subnet, runtime, minimum resources, linear pricing, the package. */
export function demandFor(options: DemandOptions): Demand {
  const o = resolveDemandOptions(options);
  const b = new DemandBuilder()
    .setAll(o.properties)
    .subnet(o.subnet)
    .taskPackage(o.taskPackage)
    .expiresAt(o.expiresAt)
    .runtime(o.runtime)
    .minResources({ cpuThreads: o.minCpuThreads, memGib: o.minMemGib, storageGib: o.minStorageGib })
    .linearPricing();
  for (const c of o.constraints) b.require(c);
  return b.build();
}
