/**
 * Provider presets (`providers/*.json`): what a volunteer offers (resources, prices) and the rules
 * it negotiates by. Parsed with zod at the edge, with errors that name the file and the field;
 * resources are capped to what the machine really has.
 */
import { statfs } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { isNodeId } from "../protocol/index.js";

const GiB = 1024 ** 3;
const amount = z.string().regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal string, e.g. "0.0001"');
const seconds = z.number().int().positive();
const bounds = z
  .strictObject({ min: seconds, max: seconds, default: seconds })
  .refine((b) => b.min <= b.default && b.default <= b.max, "expected min ≤ default ≤ max");
const nodeIds = z.array(z.string().refine(isNodeId, "not a node id")).max(10_000);

export const presetSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "expected 1-64 characters of [A-Za-z0-9_.-]"),
  description: z.string().max(1024).default(""),
  subnet: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "expected 1-64 characters of [A-Za-z0-9_-]"),
  resources: z.strictObject({
    cpuThreads: z.number().int().min(1).max(1024),
    memGib: z.number().positive().max(4096),
    storageGib: z
      .number()
      .positive()
      .max(1 << 20),
  }),
  pricing: z.strictObject({ start: amount, perDurationSec: amount, perCpuSec: amount }),
  limits: z.strictObject({
    maxAgreements: z.number().int().min(1).max(1000),
    maxAgreementDurationSec: seconds,
    debitNoteIntervalSec: bounds,
    paymentAcceptTimeoutSec: bounds,
    /** Terminate an agreement with no activity for this long (`NoActivity`). */
    idleTimeoutSec: seconds,
    /** When not empty, only these requestors. */
    allowRequestors: nodeIds.default([]),
    denyRequestors: nodeIds.default([]),
  }),
});

/** A validated preset. */
export type Preset = z.output<typeof presetSchema>;

/** Validate a parsed preset. @throws ConfigError naming `source` and every bad field. */
export function parsePreset(input: unknown, source = "preset"): Preset {
  const r = presetSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`invalid provider preset ${source}: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** The folder of the bundled presets (`providers/`), from the source tree or the built package. */
export function presetsDir(): string {
  const candidates = ["../../providers/", "../../../providers/"].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  return candidates.find((d) => existsSync(d)) ?? candidates[0]!;
}

/**
 * Load a preset by bundled name (`default`, `cheap`, `premium`) or by file path (anything with a
 * `/` or ending in `.json`). @throws ConfigError when missing, not JSON or invalid.
 */
export async function loadPreset(nameOrPath: string): Promise<Preset> {
  const isPath = nameOrPath.includes("/") || nameOrPath.endsWith(".json");
  const path = isPath ? nameOrPath : `${presetsDir()}${nameOrPath}.json`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read provider preset ${path}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`provider preset ${path} is not valid JSON`, { cause: err });
  }
  return parsePreset(json, path);
}

/** What this machine has. */
export interface MachineResources {
  readonly cpuThreads: number;
  readonly memGib: number;
  /** Free space where the agent keeps its data, when known. */
  readonly storageGib: number | undefined;
}

/** Threads, memory and (for `dataDir`) free disk of this machine, via node:os and statfs. */
export async function machineResources(dataDir?: string): Promise<MachineResources> {
  let storageGib: number | undefined;
  if (dataDir !== undefined) {
    try {
      const s = await statfs(dataDir);
      storageGib = (s.bavail * s.bsize) / GiB;
    } catch {
      storageGib = undefined; // unknown: not capped
    }
  }
  return { cpuThreads: availableParallelism(), memGib: totalmem() / GiB, storageGib };
}

/** The preset's resources, each capped to what the machine has (rounded down to 0.01 GiB). */
export function capResources(preset: Preset, machine: MachineResources): Preset["resources"] {
  const floor2 = (n: number) => Math.max(0.01, Math.floor(n * 100) / 100);
  const r = preset.resources;
  return {
    cpuThreads: Math.max(1, Math.min(r.cpuThreads, machine.cpuThreads)),
    memGib: Math.min(r.memGib, floor2(machine.memGib)),
    storageGib:
      machine.storageGib === undefined ? r.storageGib : Math.min(r.storageGib, floor2(machine.storageGib)),
  };
}
