import { describe, expect, it } from "vitest";
import { PathOutsideVolumesError, UserError } from "../../../src/errors.js";
import { pathInVolumes, planBatch } from "../../../src/provider/index.js";

const VOLUMES = ["/golem/work", "/golem/resource", "/golem/output"];
const offer = { streamId: "s1", size: 3, chunkSize: 1024 };

describe("pathInVolumes", () => {
  it.each([
    ["/golem/work/a.txt", "/golem/work/a.txt"],
    ["/golem/output//x/y.png", "/golem/output/x/y.png"],
  ])("accepts %s", (path, normalized) => expect(pathInVolumes(path, VOLUMES)).toBe(normalized));

  it.each([
    ["/etc/passwd", /lies outside the container's volumes/],
    ["golem/work/a", /is not absolute/],
    ["/golem/work/../../etc/shadow", /parent-directory segment \(\.\.\)/],
    ["/golem/work/./a", /contains a '\.' segment/],
    ["/golem/work", /names a volume itself, not a file inside it/],
    ["/golem/workshop/a", /lies outside/],
    ["/golem/work/a\0b", /NUL/],
  ])("refuses %s", (path, why) => {
    expect(() => pathInVolumes(path, VOLUMES)).toThrow(PathOutsideVolumesError);
    expect(() => pathInVolumes(path, VOLUMES)).toThrow(why);
  });
});

describe("planBatch", () => {
  it("resolves uploads, downloads and runs", () => {
    const plan = planBatch(
      [
        { kind: "deploy" },
        { kind: "start" },
        { kind: "transfer", from: "stream:s1", to: "container:/golem/work/in", stream: offer },
        { kind: "run", entryPoint: "/bin/sh", args: ["-c", "true"] },
        { kind: "transfer", from: "container:/golem/output/out", to: "stream:" },
        { kind: "terminate" },
      ],
      VOLUMES,
    );
    expect(plan.map((p) => p.kind)).toEqual(["deploy", "start", "upload", "run", "download", "terminate"]);
    expect(plan[2]).toEqual({ kind: "upload", path: "/golem/work/in", offer });
    expect(plan[3]).toEqual({ kind: "run", argv: ["/bin/sh", "-c", "true"], env: undefined });
  });

  it.each([
    [
      { kind: "transfer" as const, from: "stream:s2", to: "container:/golem/work/in", stream: offer },
      /no offer for that stream/,
    ],
    [{ kind: "transfer" as const, from: "stream:s1", to: "container:/golem/work/in" }, /no offer/],
    [
      { kind: "transfer" as const, from: "http://x", to: "container:/golem/work/in" },
      /is not stream:<id> or container:<path>/,
    ],
    [
      { kind: "transfer" as const, from: "container:/golem/work/a", to: "container:/golem/work/b" },
      /a transfer goes/,
    ],
  ])("refuses a bad transfer: %j", (command, why) => {
    expect(() => planBatch([command], VOLUMES)).toThrow(UserError);
    expect(() => planBatch([command], VOLUMES)).toThrow(why);
  });
});
