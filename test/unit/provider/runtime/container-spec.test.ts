import { describe, expect, it } from "vitest";
import { ConfigError, ImageError, UserError } from "../../../../src/errors.js";
import {
  engineName,
  envList,
  hardenedSpec,
  killCommand,
  parseImageUser,
  resolveUserName,
  wrapCommand,
} from "../../../../src/provider/runtime/container-spec.js";

const LIMITS = {
  memoryBytes: 64 << 20,
  nanoCpus: 1e9,
  pidsLimit: 32,
  tmpfsBytes: 8 << 20,
  logMaxBytes: 1 << 20,
};

describe("hardenedSpec", () => {
  const spec = hardenedSpec({
    image: "sha256:abc",
    name: "agora-a-1",
    user: "1000:1000",
    limits: LIMITS,
    labels: { "agora.agent": "ag", "agora.activity": "ac" },
    volumes: [{ name: "v0", target: "/golem/work" }],
    env: { A: "1" },
  });

  it("sets every item of DESIGN §8", () => {
    expect(spec.HostConfig).toMatchObject({
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      PidsLimit: 32,
      Memory: 64 << 20,
      MemorySwap: 64 << 20,
      NanoCpus: 1e9,
      LogConfig: { Type: "json-file", Config: { "max-size": String(1 << 20), "max-file": "1" } },
      Mounts: [{ Type: "volume", Source: "v0", Target: "/golem/work", ReadOnly: false }],
    });
    expect(spec.HostConfig.Tmpfs["/tmp"]).toMatch(/noexec,nosuid,nodev,size=8388608/);
    expect(spec.User).toBe("1000:1000");
    expect(spec.Env).toEqual(["A=1"]);
    expect(spec.Labels).toEqual({ "agora.agent": "ag", "agora.activity": "ac" });
    expect(spec.Cmd[0]).toBe("/bin/sh");
  });

  it("refuses limits that are not positive integers", () => {
    expect(() =>
      hardenedSpec({
        image: "i",
        name: "n",
        user: "1",
        limits: { ...LIMITS, pidsLimit: 0 },
        labels: {},
        volumes: [],
      }),
    ).toThrow(ConfigError);
  });
});

describe("parseImageUser", () => {
  it.each(["", "root", "0", "0:0", "root:1000", " "])("refuses root user %j with ImageError", (user) => {
    expect(() => parseImageUser("img", user)).toThrow(ImageError);
    expect(() => parseImageUser("img", user)).toThrow(/would run as root/);
  });

  it("reads numeric ids and names", () => {
    expect(parseImageUser("img", "1000")).toEqual({ kind: "ids", uid: 1000, gid: 1000 });
    expect(parseImageUser("img", "1000:50")).toEqual({ kind: "ids", uid: 1000, gid: 50 });
    expect(parseImageUser("img", "agora")).toEqual({ kind: "name", name: "agora" });
    expect(parseImageUser("img", "agora:staff")).toEqual({ kind: "name", name: "agora", group: "staff" });
  });
});

describe("resolveUserName", () => {
  const passwd = "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nagora:x:1000:1000::/golem/work:/bin/sh\n";
  const group = "root:x:0:\nstaff:x:50:\n";

  it("resolves a name through /etc/passwd and a group through /etc/group", () => {
    expect(resolveUserName("img", { name: "agora" }, passwd, group)).toEqual({ uid: 1000, gid: 1000 });
    expect(resolveUserName("img", { name: "agora", group: "staff" }, passwd, group)).toEqual({
      uid: 1000,
      gid: 50,
    });
  });

  it("refuses a name with uid 0, and unknown names", () => {
    expect(() => resolveUserName("img", { name: "toor" }, passwd, group)).toThrow(/uid 0/);
    expect(() => resolveUserName("img", { name: "ghost" }, passwd, group)).toThrow(/does not define/);
    expect(() => resolveUserName("img", { name: "agora", group: "nope" }, passwd, group)).toThrow(ImageError);
  });
});

describe("wrapCommand and killCommand", () => {
  it("runs argv and shell strings under the pid-printing wrapper", () => {
    expect(wrapCommand(["echo", "hi"]).slice(3)).toEqual(["agora-exec", "echo", "hi"]);
    expect(wrapCommand("echo $HOME").slice(3)).toEqual(["agora-exec", "/bin/sh", "-c", "echo $HOME"]);
    expect(wrapCommand("x")[2]).toMatch(/^echo "\$\$";.*exec "\$@"$/);
  });

  it("kills a process group, never pid 1 or below", () => {
    expect(killCommand(42)[2]).toMatch(/^kill -9 -42 /);
    expect(() => killCommand(1)).toThrow(RangeError);
    expect(() => killCommand(-5)).toThrow(RangeError);
  });
});

describe("envList and engineName", () => {
  it("refuses names the environment cannot carry", () => {
    expect(envList({ A_1: "x=y" })).toEqual(["A_1=x=y"]);
    expect(() => envList({ "A=B": "x" })).toThrow(UserError);
    expect(() => envList({ A: "x\0" })).toThrow(UserError);
  });

  it("makes engine-safe names", () => {
    expect(engineName("agora", "act/1:2", "ff")).toBe("agora-act-1-2-ff");
  });
});
