import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { MemoryBus } from "../../../src/transport/index.js";
import {
  docker,
  nats,
  onBus,
  resolveExecutorOptions,
  type ExecutorOptions,
} from "../../../src/requestor/index.js";

const HASH = `sha256:${"ab".repeat(32)}`;
const pkg = docker.repo({ imageHash: HASH });
const network = onBus(new MemoryBus());
const resolve = (o: Partial<ExecutorOptions>) =>
  resolveExecutorOptions({ package: pkg, network, ...o }, () => network);

describe("Executor options", () => {
  it("fills the defaults once, readonly", () => {
    const o = resolve({});
    expect(o.maxWorkers).toBe(5);
    expect(o.maxTaskRetries).toBe(3);
    expect(o.timeoutMs).toBe(1_200_000);
    expect(o.subnetTag).toBe("public");
    expect(o.budget.toString()).toBe("1");
    expect(o.taskTimeoutMs).toBeUndefined();
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ maxWorkers: 0 }, /maxWorkers/],
    [{ maxWorkers: 1.5 }, /maxWorkers/],
    [{ timeout: -1 }, /timeout/],
    [{ taskTimeout: 0 }, /taskTimeout/],
    [{ maxTaskRetries: -1 }, /maxTaskRetries/],
    [{ subnetTag: "a b" }, /subnetTag/],
    [{ budget: "ten" }, /budget "ten" is not a positive decimal amount/],
    [{ budget: "-1" }, /budget/],
    [{ budget: "0" }, /budget/],
    [{ strategy: {} }, /strategy/],
    [{ network: {} }, /network/],
    [{ package: { imageHash: HASH } }, /package/],
    [{ colour: "red" }, /colour/],
  ])("refuses %j with a UserError naming the field", (bad, re) => {
    expect(() => resolve(bad as Partial<ExecutorOptions>)).toThrow(UserError);
    expect(() => resolve(bad as Partial<ExecutorOptions>)).toThrow(re);
  });

  it("takes the default network when none is given", () => {
    const o = resolveExecutorOptions({ package: pkg }, () => network);
    expect(o.network).toBe(network);
  });
});

describe("docker.repo", () => {
  it("resolves the package and its task_package property", () => {
    const p = docker.repo({ imageHash: HASH, minMemGib: 1, source: "https://images.example/x.tar" });
    expect(p).toMatchObject({ minMemGib: 1, minStorageGib: 2, minCpuThreads: 1 });
    expect(p.taskPackage).toBe(`docker:${HASH}@https://images.example/x.tar`);
  });

  it.each([
    [{ imageHash: "sha256:nothex" }, /imageHash/],
    [{ imageHash: HASH, minMemGib: 0 }, /minMemGib/],
    [{ imageHash: HASH, minCpuThreads: 0.5 }, /minCpuThreads/],
    [{ imageHash: HASH, source: "ftp://x" }, /source/],
  ])("refuses %j", (bad, re) => {
    expect(() => docker.repo(bad)).toThrow(UserError);
    expect(() => docker.repo(bad)).toThrow(re);
  });
});

describe("nats()", () => {
  it("needs servers", () => {
    expect(() => nats({ servers: [] })).toThrow(/servers/);
    expect(nats({ servers: "nats://127.0.0.1:4222" }).description).toBe("nats(nats://127.0.0.1:4222)");
  });
});
