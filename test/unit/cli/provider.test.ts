import { describe, expect, it } from "vitest";
import {
  cliLogger,
  defaultDataDir,
  describeOffer,
  dockerFailure,
  dropEmpty,
  formatLogLine,
  natsAuthOptions,
} from "../../../src/cli/provider.js";
import { ConfigError, ProviderError, UserError } from "../../../src/errors.js";
import { loadPreset, offerFromPreset } from "../../../src/provider/index.js";

describe("natsAuthOptions", () => {
  it("passes nothing without authentication", () => {
    expect(natsAuthOptions({})).toEqual({});
  });

  it("passes a user and password, or a token, and a CA file for TLS", () => {
    expect(natsAuthOptions({ natsUser: "alice", natsPass: "s3cret" })).toEqual({
      user: "alice",
      pass: "s3cret",
    });
    expect(natsAuthOptions({ natsToken: "t0k", natsCa: "/etc/ca.pem" })).toEqual({
      token: "t0k",
      tls: { caFile: "/etc/ca.pem" },
    });
  });

  it("reads a creds file into an authenticator", () => {
    const read: string[] = [];
    const opts = natsAuthOptions({ natsCreds: "/x/alice.creds" }, (p) => {
      read.push(p);
      return new TextEncoder().encode("creds");
    });
    expect(read).toEqual(["/x/alice.creds"]);
    expect(typeof opts.authenticator).toBe("function");
  });

  it("says which file it cannot read", () => {
    expect(() =>
      natsAuthOptions({ natsCreds: "/nope.creds" }, () => {
        throw new Error("ENOENT");
      }),
    ).toThrow(/cannot read the NATS credentials file \/nope\.creds/);
  });

  it("refuses mixed or incomplete authentication with a UserError (exit code 2)", () => {
    expect(() => natsAuthOptions({ natsUser: "a", natsPass: "b", natsToken: "t" })).toThrow(UserError);
    expect(() => natsAuthOptions({ natsUser: "a", natsPass: "b", natsToken: "t" })).toThrow(
      "choose one NATS authentication, not --nats-user/--nats-pass and --nats-token",
    );
    expect(() => natsAuthOptions({ natsUser: "a" })).toThrow(/go together/);
    expect(() => natsAuthOptions({ natsPass: "b" })).toThrow(/go together/);
  });
});

describe("formatLogLine", () => {
  const time = Date.UTC(2026, 10, 22, 2, 41, 7);

  it("shows time, level, message and the fields, not pino's bookkeeping", () => {
    const line = JSON.stringify({
      level: 30,
      time,
      pid: 1,
      hostname: "h",
      provider: "alice",
      agreementId: "a1",
      requestorId: "r1",
      msg: "agreement approved",
    });
    expect(formatLogLine(line)).toBe("02:41:07 INFO  agreement approved  agreementId=a1  requestorId=r1");
  });

  it("appends an error's message and cuts long values", () => {
    const line = JSON.stringify({
      level: 40,
      time,
      msg: "creating the activity failed",
      err: { message: "boom" },
      x: "y".repeat(100),
    });
    expect(formatLogLine(line)).toBe(
      `02:41:07 WARN  creating the activity failed — boom  x=${"y".repeat(77)}...`,
    );
  });

  it("passes lines that are not JSON objects", () => {
    expect(formatLogLine("plain text\n")).toBe("plain text");
    expect(formatLogLine("42")).toBe("42");
  });
});

describe("cliLogger", () => {
  it("writes readable lines at the chosen level", () => {
    const out: string[] = [];
    const log = cliLogger("info", false, (s) => out.push(s));
    log.debug("hidden");
    log.info({ agreementId: "a1" }, "agreement approved");
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}agreement approved {2}agreementId=a1\n$/);
  });

  it("writes pino JSON with json", () => {
    const out: string[] = [];
    cliLogger("info", true, (s) => out.push(s)).info("hi");
    expect(JSON.parse(out[0]!)).toMatchObject({ level: 30, msg: "hi" });
  });
});

describe("describeOffer and defaultDataDir", () => {
  it("prints the node id, subnet, resources, prices and limits", async () => {
    const preset = await loadPreset("default");
    const lines = describeOffer({ nodeId: "NODE", preset, offer: offerFromPreset(preset, "alice") });
    expect(lines[0]).toBe("node id   NODE");
    expect(lines[1]).toBe(`subnet    ${preset.subnet}`);
    expect(lines[2]).toBe("offers    2 thread(s), 2 GiB memory, 8 GiB storage");
    expect(lines[3]).toBe("prices    start 0, 0.36/h env, 0.72/h cpu");
    expect(lines[4]).toMatch(/^limits {4}2 agreement\(s\) at once, each ≤ 3600 s/);
  });

  it("keeps the data under AGORA_HOME when set", () => {
    expect(defaultDataDir({ AGORA_HOME: "/srv/agora" })).toBe("/srv/agora/provider");
    expect(defaultDataDir({})).toMatch(/\.agora\/provider$/);
  });
});

describe("dropEmpty", () => {
  it("treats options set to an empty string (an empty line of an environment file) as not given", () => {
    expect(dropEmpty({ nats: "nats://x:4222", natsUser: "", natsPass: "", name: "alice" })).toEqual({
      nats: "nats://x:4222",
      name: "alice",
    });
  });
});

describe("dockerFailure", () => {
  it("tells a user without access to the socket to join the docker group", () => {
    const denied = Object.assign(new Error("connect EACCES /var/run/docker.sock"), { code: "EACCES" });
    const err = dockerFailure(new ProviderError("the Docker engine does not answer", { cause: denied }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /^permission denied on the Docker socket: add this user to the docker group/,
    );
  });

  it("keeps the runtime's advice otherwise", () => {
    const refused = Object.assign(new Error("connect ENOENT"), { code: "ENOENT" });
    const original = new ProviderError("start it", { cause: refused });
    expect(dockerFailure(original)).toBe(original);
  });
});
