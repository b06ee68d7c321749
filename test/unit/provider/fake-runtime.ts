/** A ContainerRuntime of our own interface that records calls and runs nothing (unit tests). */
import { Readable } from "node:stream";
import type { ContainerRuntime, ExecOptions, ExecResult } from "../../../src/provider/runtime/index.js";

type Output = readonly (readonly ["stdout" | "stderr", Uint8Array])[];

/** `outputs`: what every exec writes, chunk by chunk. */
export function fakeRuntime(
  exit = 0,
  outputs: Output = [["stdout", new TextEncoder().encode("out\n")]],
): { runtime: ContainerRuntime; calls: string[] } {
  const calls: string[] = [];
  const call = (name: string) => {
    calls.push(name);
    return Promise.resolve();
  };
  const unused = (): Promise<never> => Promise.reject(new Error("not used"));
  const runtime: ContainerRuntime = {
    deploy: unused,
    start: () => call("start"),
    putFiles: () => call("putFiles"),
    putArchive: () => call("putArchive"),
    exec: async (_id: string, cmd: readonly string[] | string, opts?: ExecOptions): Promise<ExecResult> => {
      await call(`exec ${[cmd].flat().join(" ")}`);
      for (const [stream, chunk] of outputs) opts?.onOutput?.(stream, chunk);
      return { exitCode: exit, stdout: "out\n", stderr: "", truncated: false };
    },
    getFile: async () => {
      await call("getFile");
      return Readable.from([Buffer.from("file bytes")]);
    },
    usage: () => Promise.resolve({ cpuSec: 0, durationSec: 0 }),
    destroy: (id: string) => call(`destroy ${id}`),
    cleanupOrphans: async (agentId: string) => {
      await call(`cleanupOrphans ${agentId.slice(0, 8)}`);
      return 0;
    },
    importRootfs: unused,
    saveImage: unused,
    loadImage: unused,
    inspectImage: () => Promise.resolve(undefined),
    removeImage: () => Promise.resolve(),
  };
  return { runtime, calls };
}
