/**
 * A real nats-server (the Debian binary) for integration tests: one per suite, on a free port of
 * 127.0.0.1, started and awaited until it accepts; `restart()` brings it back on the same port.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { NatsBus } from "../../../src/transport/index.js";

/** `$NATS_SERVER_BIN`, else the Debian package's binary (/usr/sbin), else `nats-server` on PATH. */
export const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ??
  "nats-server";

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolve once a client connecting to `port` receives the server's INFO line. */
async function waitUntilAccepting(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("nats-server exited during startup");
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      const done = (value: boolean): void => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(500, () => done(false));
      socket.once("data", (data) => done(data.toString().startsWith("INFO")));
      socket.once("error", () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export class NatsServer {
  readonly port: number;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #stderr = "";

  private constructor(port: number, args: readonly string[]) {
    this.port = port;
    this.#args = args;
  }

  /** Start a server on a free loopback port; extra `args` go to nats-server. */
  static async start(args: readonly string[] = []): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), args);
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The server's log so far (for failure messages). */
  get log(): string {
    return this.#stderr;
  }

  async #spawn(): Promise<void> {
    const child = spawn(NATS_SERVER_BIN, ["-a", "127.0.0.1", "-p", String(this.port), ...this.#args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#child = child;
    let exited = false;
    child.once("exit", () => (exited = true));
    child.once("error", (err) => {
      exited = true;
      this.#stderr += `cannot run ${NATS_SERVER_BIN}: ${err.message}\n`;
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (this.#stderr.length < 64 * 1024) this.#stderr += chunk.toString();
    });
    try {
      await waitUntilAccepting(this.port, 10_000, () => exited);
    } catch (err) {
      await this.stop();
      throw new Error(`${(err as Error).message}\n${this.#stderr}`, { cause: err });
    }
  }

  /** Stop the server (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop and start again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }
}

/**
 * Two NatsBus connections to `url`, one for the provider agents and one for the requestor, shaped
 * as the market and payment scenarios take them.
 */
export async function natsBusPair(url: string) {
  const providerBus = await NatsBus.connect({ servers: url });
  const requestorBus = await NatsBus.connect({ servers: url });
  return {
    providerBus,
    requestorBus,
    settle: async () => {
      await providerBus.flush();
      await requestorBus.flush();
    },
    close: async () => {
      await providerBus.close();
      await requestorBus.close();
    },
  };
}
