/** `agora market scan` as a separate process against a real nats-server and announcing agents. */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ProviderAgent } from "../../../src/provider/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { NatsBus } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";

const BIN = fileURLToPath(new URL("../../../bin/agora.js", import.meta.url));
const exec = promisify(execFile);

let server: NatsServer;
let bus: NatsBus;
let dir: string;
const agents: ProviderAgent[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  bus = await NatsBus.connect({ servers: server.url });
  dir = await mkdtemp(join(tmpdir(), "agora-scan-"));
  const runtime = new DockerRuntime();
  for (const preset of ["cheap", "premium"]) {
    agents.push(
      await ProviderAgent.create({
        bus,
        runtime,
        dataDir: join(dir, preset),
        preset,
        subnet: "scantest",
        name: `scan-${preset}`,
        announceIntervalMs: 300,
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
  await bus?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("lists the live offers of a subnet: name, node id, resources, prices", async () => {
  const { stdout, stderr } = await exec(
    process.execPath,
    [BIN, "market", "scan", "--nats", server.url, "--subnet", "scantest", "--seconds", "1.5"],
    { timeout: 60_000 },
  );
  const lines = stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^NAME\s+NODE ID\s+THREADS\s+MEM GiB\s+STORAGE GiB\s+PRICES$/);
  expect(lines).toHaveLength(3);
  const cheap = lines.find((l) => l.startsWith("scan-cheap"));
  expect(cheap).toContain(agents[0]!.nodeId);
  expect(cheap).toMatch(/start 0, 0\.18\/h, 0\.36\/cpu-h$/);
  expect(lines.find((l) => l.startsWith("scan-premium"))).toContain(agents[1]!.nodeId);
  expect(stderr).toContain("2 offer(s)");
});

it("refuses a bad --seconds with exit code 2", async () => {
  const err = (await exec(process.execPath, [
    BIN,
    "market",
    "scan",
    "--nats",
    server.url,
    "--seconds",
    "-1",
  ]).catch((e: unknown) => e)) as { code: number; stderr: string };
  expect(err.code).toBe(2);
  expect(err.stderr).toContain("--seconds must be a number in (0, 3600], got -1");
});
