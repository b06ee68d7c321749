/**
 * `local({ providers })`: the embedded network — an in-process MemoryBus with N provider agents on
 * the local Docker engine (DockerRuntime), their data under a temp dir, all shut down with the
 * executor. It lives outside requestor/ because it needs the provider agent (DESIGN §2's rule of
 * rooms: requestor/ and provider/ never import each other; this module imports both).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.js";
import { ImageStore } from "../images/index.js";
import { ProviderAgent, type Preset } from "../provider/index.js";
import { DockerRuntime } from "../provider/runtime/index.js";
import type { Network } from "../requestor/index.js";
import { MemoryBus } from "../transport/index.js";

export interface LocalNetworkOptions {
  /** How many provider agents to start. @default 3 */
  readonly providers?: number;
  /** Their presets, by bundled name, file path or object, used in turn. @default ["default", "cheap", "premium"] */
  readonly presets?: readonly (string | Preset)[];
  /** Where their data (identity, spool) goes. @default a fresh temp dir, removed at the end */
  readonly dataDir?: string;
}

const schema = z.object({
  providers: z.number().int().min(1).max(64).default(3),
  presets: z
    .array(z.union([z.string().min(1), z.custom<Preset>((v) => typeof v === "object" && v !== null)]))
    .min(1)
    .optional(),
  dataDir: z.string().min(1).optional(),
});

const DEFAULT_PRESETS = ["default", "cheap", "premium"] as const;

/** The embedded network: N provider agents on this machine's Docker engine, no server needed. */
export function local(options: LocalNetworkOptions = {}): Network {
  const r = schema.safeParse(options);
  if (!r.success)
    throw new UserError(`invalid local network: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  const { providers } = r.data;
  const presets = r.data.presets ?? DEFAULT_PRESETS;
  return {
    description: `local(${providers} provider${providers === 1 ? "" : "s"})`,
    async connect(ctx) {
      const bus = new MemoryBus();
      const owned = r.data.dataDir === undefined;
      const root = r.data.dataDir ?? (await mkdtemp(join(tmpdir(), "agora-local-")));
      const runtime = new DockerRuntime({ killGraceMs: 2_000 });
      const imageStore = new ImageStore({}); // the requestor's store: images are cached already
      const agents: ProviderAgent[] = [];
      const close = async (): Promise<void> => {
        await Promise.allSettled(agents.map((a) => a.shutdown()));
        await bus.close();
        if (owned) await rm(root, { recursive: true, force: true });
      };
      try {
        for (let i = 0; i < providers; i++) {
          const preset = presets[i % presets.length] ?? "default";
          agents.push(
            await ProviderAgent.create({
              bus,
              runtime,
              dataDir: join(root, `provider-${i + 1}`),
              preset,
              name: `local-${i + 1}`,
              subnet: ctx.subnet,
              imageStore,
              announceIntervalMs: 0,
              shutdownGraceMs: 5_000,
              logger: ctx.logger.child({ provider: `local-${i + 1}` }),
            }),
          );
        }
      } catch (err) {
        await close();
        throw err;
      }
      return { bus, expectedProviders: providers, settle: () => Promise.resolve(), close };
    },
  };
}
