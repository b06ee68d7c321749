/**
 * `agora provider`: run a provider agent on this machine (DESIGN §8) against a NATS network, with
 * the Docker runtime. Prints its offer and node id, logs agreements and activities (stderr), and
 * ends gracefully on SIGINT/SIGTERM: agreements terminated (`Shutdown`), containers removed, NATS
 * drained, all within a bound; a second signal forces the exit.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import { credsAuthenticator, type ConnectionOptions } from "nats";
import { pino, type DestinationStream, type Logger } from "pino";
import { ConfigError, UserError } from "../errors.js";
import { LinearPricing } from "../payment/index.js";
import { loadPreset, ProviderAgent, type Preset } from "../provider/index.js";
import { DockerRuntime } from "../provider/runtime/index.js";
import { NatsBus } from "../transport/index.js";

/** How long the agent may take to terminate its agreements and remove its containers. */
const SHUTDOWN_GRACE_MS = 15_000;
/** How long draining the NATS connection may take. */
const DRAIN_TIMEOUT_MS = 5_000;
/** Beyond the two bounds above: the process exits regardless. */
const EXIT_MARGIN_MS = 5_000;

export interface ProviderCliOptions {
  readonly nats: string;
  readonly preset: string;
  readonly name?: string;
  readonly dataDir?: string;
  readonly subnet?: string;
  readonly natsCreds?: string;
  readonly natsUser?: string;
  readonly natsPass?: string;
  readonly natsToken?: string;
  readonly natsCa?: string;
  readonly logLevel: string;
  readonly jsonLogs?: boolean;
}

/** The default data dir: `$AGORA_HOME/provider`, AGORA_HOME defaulting to `~/.agora`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.AGORA_HOME ?? join(homedir(), ".agora"), "provider");
}

/**
 * The NATS client options for the chosen authentication: a creds file (nkey + JWT), a user and
 * password, or a token — one of them at most. @throws UserError when they are mixed or incomplete.
 */
export function natsAuthOptions(
  opts: Pick<ProviderCliOptions, "natsCreds" | "natsUser" | "natsPass" | "natsToken" | "natsCa">,
  readFile: (path: string) => Uint8Array = (p) => readFileSync(p),
): Partial<ConnectionOptions> {
  const chosen = [
    opts.natsCreds !== undefined && "--nats-creds",
    (opts.natsUser !== undefined || opts.natsPass !== undefined) && "--nats-user/--nats-pass",
    opts.natsToken !== undefined && "--nats-token",
  ].filter((c): c is string => typeof c === "string");
  if (chosen.length > 1) throw new UserError(`choose one NATS authentication, not ${chosen.join(" and ")}`);
  const tls = opts.natsCa === undefined ? {} : { tls: { caFile: opts.natsCa } };
  if (opts.natsCreds !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFile(opts.natsCreds);
    } catch (err) {
      throw new UserError(`cannot read the NATS credentials file ${opts.natsCreds}`, { cause: err });
    }
    return { authenticator: credsAuthenticator(creds), ...tls };
  }
  if (opts.natsUser !== undefined || opts.natsPass !== undefined) {
    if (opts.natsUser === undefined || opts.natsPass === undefined)
      throw new UserError("--nats-user and --nats-pass (or AGORA_NATS_PASS) go together");
    return { user: opts.natsUser, pass: opts.natsPass, ...tls };
  }
  if (opts.natsToken !== undefined) return { token: opts.natsToken, ...tls };
  return tls;
}

/** What the agent offers, as the lines printed at start. */
export function describeOffer(agent: {
  readonly nodeId: string;
  readonly preset: Preset;
  readonly offer: { readonly properties: Readonly<Record<string, unknown>> };
}): string[] {
  const { preset } = agent;
  const r = preset.resources;
  let prices: string;
  try {
    prices = LinearPricing.fromProperties(agent.offer.properties).toString();
  } catch {
    prices = `start ${preset.pricing.start}, ${preset.pricing.perDurationSec}/s, ${preset.pricing.perCpuSec}/cpu-s`;
  }
  const l = preset.limits;
  return [
    `node id   ${agent.nodeId}`,
    `subnet    ${preset.subnet}`,
    `offers    ${r.cpuThreads} thread(s), ${r.memGib} GiB memory, ${r.storageGib} GiB storage`,
    `prices    ${prices}`,
    `limits    ${l.maxAgreements} agreement(s) at once, each ≤ ${l.maxAgreementDurationSec} s, idle ends after ${l.idleTimeoutSec} s`,
  ];
}

const LEVELS: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
/** Fields every line has, or that the line's prefix already shows. */
const HIDDEN = new Set(["level", "time", "msg", "pid", "hostname", "provider", "err"]);

function field(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One pino JSON line as a line a volunteer reads: `02:41:07 INFO  agreement approved
 * agreementId=… requestorId=…`, with an error's message appended. Lines that are not JSON pass.
 */
export function formatLogLine(line: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return line.trimEnd();
  }
  if (typeof rec !== "object" || rec === null) return line.trimEnd();
  const r = rec as Record<string, unknown>;
  const time = typeof r.time === "number" ? new Date(r.time).toISOString().slice(11, 19) : "--:--:--";
  const level = typeof r.level === "number" ? (LEVELS[r.level] ?? String(r.level)) : "?    ";
  const fields = Object.entries(r)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${field(v)}`);
  const err = r.err;
  const errText =
    typeof err === "object" && err !== null && "message" in err && typeof err.message === "string"
      ? ` — ${err.message}`
      : "";
  return [`${time} ${level} ${typeof r.msg === "string" ? r.msg : ""}${errText}`, ...fields].join("  ");
}

/** A pino logger writing to stderr: readable lines, or pino's JSON with `json`. */
export function cliLogger(
  level: string,
  json: boolean,
  write: (s: string) => unknown = (s) => process.stderr.write(s),
): Logger {
  const destination: DestinationStream = {
    write: (chunk: string) => {
      if (json) write(chunk);
      else for (const l of chunk.split("\n")) if (l !== "") write(`${formatLogLine(l)}\n`);
    },
  };
  return pino({ level, base: null }, destination);
}

/** The code (e.g. `EACCES`) somewhere along an error's cause chain. */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if ("code" in e && typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)) return e.code;
  return undefined;
}

/**
 * The error to show when Docker does not answer: permission denied on the socket gets its own
 * advice; anything else keeps the runtime's message (start the engine).
 */
export function dockerFailure(err: unknown): unknown {
  if (causeCode(err) !== "EACCES") return err;
  return new ConfigError(
    "permission denied on the Docker socket: add this user to the docker group " +
      "(`sudo usermod -aG docker $USER`, then log in again) or run it as the agora-provider service",
    { cause: err },
  );
}

/** Ping Docker; the error says what the volunteer should do. */
async function dockerRuntime(): Promise<DockerRuntime> {
  const runtime = new DockerRuntime();
  try {
    await runtime.ping();
  } catch (err) {
    throw dockerFailure(err);
  }
  return runtime;
}

async function runProvider(opts: ProviderCliOptions): Promise<void> {
  // A bad preset is the volunteer's to fix: its validation error, exit code 2.
  let preset: Preset;
  try {
    preset = await loadPreset(opts.preset);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message, { cause: err });
    throw err;
  }
  const connectOptions = natsAuthOptions(opts);
  const logger = cliLogger(opts.logLevel, opts.jsonLogs === true);
  const dataDir = resolve(opts.dataDir ?? defaultDataDir());
  const name = opts.name ?? preset.name;
  const runtime = await dockerRuntime();
  const bus = await NatsBus.connect({
    servers: opts.nats.split(",").map((s) => s.trim()),
    name: `agora-provider ${name}`,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
    connectOptions,
    logger: logger.child({ component: "nats" }),
  }).catch((err: unknown) => {
    // Say why (refused, authorization violation, TLS): the volunteer can act on it.
    const why = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    throw err instanceof ConfigError ? new ConfigError(`${err.message}${why}`, { cause: err }) : err;
  });
  let agent: ProviderAgent;
  try {
    agent = await ProviderAgent.create({
      bus,
      runtime,
      dataDir,
      preset,
      name,
      logger,
      shutdownGraceMs: SHUTDOWN_GRACE_MS,
      ...(opts.subnet === undefined ? {} : { subnet: opts.subnet }),
    });
  } catch (err) {
    await bus.close();
    throw err;
  }
  console.log(`agora provider ${name} is running`);
  for (const line of describeOffer(agent)) console.log(`  ${line}`);
  console.log(`  data dir  ${dataDir}`);
  console.log(`  NATS      ${opts.nats}`);
  console.log("Ctrl-C (or SIGTERM) stops it: agreements are terminated and containers removed.");

  await new Promise<void>((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        console.error(
          `agora provider: ${signal} again, exiting now; containers left behind are removed at the next start`,
        );
        process.exit(1);
      }
      stopping = true;
      logger.info(
        { signal },
        "stopping: terminating agreements and removing containers (signal again to force)",
      );
      // The agent and the drain are each bounded; this guards the whole.
      const force = setTimeout(
        () => {
          console.error("agora provider: shutdown did not finish in time, exiting");
          process.exit(1);
        },
        SHUTDOWN_GRACE_MS * 2 + DRAIN_TIMEOUT_MS + EXIT_MARGIN_MS,
      );
      force.unref();
      void (async () => {
        try {
          await agent.shutdown();
        } catch (err) {
          logger.error({ err }, "shutdown failed");
          process.exitCode = 1;
        }
        await bus.close();
        done();
      })();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  // Everything is closed; a handle a library keeps open must not keep the process alive.
  setTimeout(() => process.exit(), 2_000).unref();
}

/** An option that may also come from the environment (the systemd unit's EnvironmentFile). */
function opt(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env);
}

/** Options set to "" (an empty line in an environment file) count as not given. */
export function dropEmpty<T extends object>(opts: T): T {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== "")) as T;
}

export function providerCommand(): Command {
  return new Command("provider")
    .description("offer this machine on a NATS network: run a provider agent with the Docker runtime")
    .addOption(
      opt("--nats <url>", "NATS server(s), comma-separated", "AGORA_NATS_URL").default(
        "nats://127.0.0.1:4222",
      ),
    )
    .addOption(
      opt(
        "--preset <name|file>",
        "a bundled preset (default, cheap, premium) or a preset file",
        "AGORA_PRESET",
      ).default("default"),
    )
    .addOption(opt("--name <name>", "name shown in offers (default: the preset's name)", "AGORA_NAME"))
    .addOption(
      opt(
        "--data-dir <dir>",
        "identity key, image cache and spool (default: $AGORA_HOME/provider, ~/.agora/provider)",
        "AGORA_DATA_DIR",
      ),
    )
    .addOption(opt("--subnet <tag>", "market to serve (default: the preset's subnet)", "AGORA_SUBNET"))
    .addOption(opt("--nats-creds <file>", "NATS credentials file (nkey + JWT)", "AGORA_NATS_CREDS"))
    .addOption(opt("--nats-user <user>", "NATS user name", "AGORA_NATS_USER"))
    .addOption(opt("--nats-pass <password>", "NATS password (better: the environment)", "AGORA_NATS_PASS"))
    .addOption(opt("--nats-token <token>", "NATS token (better: the environment)", "AGORA_NATS_TOKEN"))
    .addOption(opt("--nats-ca <file>", "CA certificate for a NATS server with TLS", "AGORA_NATS_CA"))
    .addOption(
      opt("--log-level <level>", "log level", "AGORA_LOG_LEVEL")
        .choices(["trace", "debug", "info", "warn", "error"])
        .default("info"),
    )
    .option("--json-logs", "log pino JSON lines instead of readable lines")
    .action((opts: ProviderCliOptions) => runProvider(dropEmpty(opts)));
}
