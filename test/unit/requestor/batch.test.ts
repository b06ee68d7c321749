import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { Batch } from "../../../src/requestor/index.js";

describe("Batch", () => {
  it("records the steps in order", () => {
    const b = new Batch()
      .deploy()
      .start()
      .sendJson({ frame: 3 }, "/golem/work/params.json")
      .sendFile("scene.pov", "/golem/resource/scene.pov")
      .runWithEnv({ A: "1" }, "/bin/sh", "-c", "render")
      .downloadFile("/golem/output/out.png", "out.png")
      .downloadBytes("/golem/output/log")
      .terminate();
    expect(b.steps.map((s) => s.kind)).toEqual([
      "deploy",
      "start",
      "upload",
      "upload",
      "run",
      "download",
      "download",
      "terminate",
    ]);
    const json = b.steps[2];
    expect(
      json?.kind === "upload" && "bytes" in json.source && new TextDecoder().decode(json.source.bytes),
    ).toBe('{"frame":3}');
    expect(b.steps[4]).toEqual({
      kind: "run",
      entryPoint: "/bin/sh",
      args: ["-c", "render"],
      env: { A: "1" },
    });
  });

  it("holds at most 256 commands", () => {
    const b = new Batch();
    for (let i = 0; i < 256; i++) b.start();
    expect(() => b.start()).toThrow(UserError);
  });
});
