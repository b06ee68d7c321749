import { describe, expect, it } from "vitest";
import { PathOutsideVolumesError } from "../../../../src/errors.js";
import { locateInVolumes, parentDirs } from "../../../../src/provider/runtime/paths.js";

const VOLUMES = ["/golem/work", "/golem/resource", "/golem/output", "/golem/work/cache"];

describe("locateInVolumes", () => {
  it("finds the volume and the segments below it, the deepest volume winning", () => {
    expect(locateInVolumes("/golem/work/a//b.txt", VOLUMES)).toEqual({
      volume: "/golem/work",
      segments: ["a", "b.txt"],
      path: "/golem/work/a/b.txt",
    });
    expect(locateInVolumes("/golem/work/cache/x", VOLUMES).volume).toBe("/golem/work/cache");
    expect(locateInVolumes("/golem/output", VOLUMES, true).segments).toEqual([]);
  });

  it.each([
    ["/etc/passwd", /lies outside/],
    ["/golem/work/../../etc/x", /parent-directory segment/],
    ["/golem/work/./x", /'\.' segment/],
    ["/golem/workshop/x", /lies outside/],
    ["golem/work/x", /not absolute/],
    ["/golem/work/x\0", /NUL/],
    ["/golem/work", /names a volume itself/],
    ["/", /lies outside/],
  ])("refuses %j with PathOutsideVolumesError", (path, why) => {
    expect(() => locateInVolumes(path, VOLUMES)).toThrow(PathOutsideVolumesError);
    expect(() => locateInVolumes(path, VOLUMES)).toThrow(why);
  });

  it("names the volumes in its message", () => {
    expect(() => locateInVolumes("/etc/x", ["/golem/work"])).toThrow(
      /may only touch the volumes \/golem\/work/,
    );
    expect(() => locateInVolumes("/etc/x", [])).toThrow(/\(none\)/);
  });
});

describe("parentDirs", () => {
  it("lists the parents from shallow to deep", () => {
    expect(parentDirs(["a", "b", "c.txt"])).toEqual(["a", "a/b"]);
    expect(parentDirs(["c.txt"])).toEqual([]);
  });
});
