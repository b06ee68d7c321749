/**
 * The render example's command line: parsed with node:util's parseArgs and checked with zod, so a
 * bad option ends the run before anything starts (exit 2) with a message that names it.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";

export interface RenderOptions {
  /** Frames in the animation. @default 24 */
  readonly frames: number;
  /** @default 320 */
  readonly width: number;
  /** @default 240 */
  readonly height: number;
  /** POV-Ray quality, 0 … 11. @default 9 */
  readonly quality: number;
  /** Provider agents started in-process (embedded network only) and workers at most. @default 3 */
  readonly providers: number;
  /** Most the run may spend, a decimal string. @default "1.0" */
  readonly budget: string;
  /** A running NATS network (`nats://host:port`) instead of the embedded one. @default none */
  readonly nats: string | undefined;
  /** The market's subnet. @default "public" */
  readonly subnet: string;
  /** Where frames, the animation and summary.json go (absolute). @default "./out" */
  readonly out: string;
  /** The whole run's deadline, ms. @default 600_000 */
  readonly timeoutMs: number;
}

export const USAGE = `Usage: render [options]

Render an animated POV-Ray scene across Agora providers: one frame per task, each frame checked
(a PNG of the asked size) before it is accepted; frames and an animated GIF go to --out.

Options:
  --frames N       frames in the animation, 1-1000          (default 24)
  --width PX       frame width, 16-4096                     (default 320)
  --height PX      frame height, 16-4096                    (default 240)
  --quality Q      POV-Ray quality, 0-11                    (default 9)
  --providers N    embedded provider agents / workers, 1-16 (default 3)
  --budget AMOUNT  most the run may spend, a decimal        (default 1.0)
  --nats URL       use a running NATS network of providers  (default: embedded, in-process)
  --subnet NAME    market subnet                            (default public)
  --out DIR        output folder                            (default ./out)
  --timeout SEC    deadline of the whole run                (default 600)
  -h, --help       show this help`;

/** A bad command line: the message says which option and why (exit code 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .int(`--${name} must be a whole number`)
    .min(min, `--${name} must be at least ${min}`)
    .max(max, `--${name} must be at most ${max}`);

const schema = z.object({
  frames: int("frames", 1, 1000).default(24),
  width: int("width", 16, 4096).default(320),
  height: int("height", 16, 4096).default(240),
  quality: int("quality", 0, 11).default(9),
  providers: int("providers", 1, 16).default(3),
  budget: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "--budget must be a positive decimal, e.g. 0.5")
    .refine((s) => Number(s) > 0, "--budget must be more than 0")
    .default("1.0"),
  nats: z
    .string()
    .regex(/^(nats|tls|wss?):\/\/\S+$/, "--nats must be a URL such as nats://127.0.0.1:4222")
    .optional(),
  subnet: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "--subnet must be 1-64 letters, digits, - or _")
    .default("public"),
  out: z.string().min(1, "--out must name a folder").default("out"),
  timeout: int("timeout", 10, 86_400).default(600),
});

/** Parse `argv` (without node and the script). Returns undefined for --help. @throws UsageError */
export function parseRenderOptions(argv: readonly string[]): RenderOptions | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        frames: { type: "string" },
        width: { type: "string" },
        height: { type: "string" },
        quality: { type: "string" },
        providers: { type: "string" },
        budget: { type: "string" },
        nats: { type: "string" },
        subnet: { type: "string" },
        out: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) return undefined;
  const r = schema.safeParse(values);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join("; "));
  const o = r.data;
  return {
    frames: o.frames,
    width: o.width,
    height: o.height,
    quality: o.quality,
    providers: o.providers,
    budget: o.budget,
    nats: o.nats,
    subnet: o.subnet,
    out: resolve(o.out),
    timeoutMs: o.timeout * 1000,
  };
}
