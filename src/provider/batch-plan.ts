/**
 * Checking a batch before it runs (DESIGN §8): every transfer names a stream the requestor offered
 * or a download, and touches only the container's volumes. Done on the text alone, so a bad batch
 * is refused before any engine call.
 */
import { UserError } from "../errors.js";
import type { Command } from "../protocol/index.js";
import type { StreamOffer } from "../transport/index.js";
import { locateInVolumes } from "./runtime/index.js";

/** A command, resolved for running. */
export type PlannedCommand =
  | { readonly kind: "deploy" }
  | { readonly kind: "start" }
  | { readonly kind: "terminate" }
  | {
      readonly kind: "run";
      readonly argv: readonly string[];
      readonly env: Readonly<Record<string, string>> | undefined;
    }
  | { readonly kind: "upload"; readonly path: string; readonly offer: StreamOffer }
  | { readonly kind: "download"; readonly path: string };

/**
 * Locate `path` inside one of `volumes` (normalized), or throw `PathOutsideVolumesError`.
 * Refuses relative paths, `.`/`..` segments, NUL bytes, the volume roots themselves.
 */
export function pathInVolumes(path: string, volumes: readonly string[]): string {
  return locateInVolumes(path, volumes).path;
}

/** One description per command, for `started` events and messages. */
export function describeCommand(c: Command): string {
  switch (c.kind) {
    case "run":
      return [c.entryPoint, ...c.args].join(" ").slice(0, 1000);
    case "transfer":
      return `transfer ${c.from} → ${c.to}`.slice(0, 1000);
    default:
      return c.kind;
  }
}

/** Resolve every command, or throw (`UserError` / `PathOutsideVolumesError`) naming the bad one. */
export function planBatch(commands: readonly Command[], volumes: readonly string[]): PlannedCommand[] {
  return commands.map((c, i): PlannedCommand => {
    const bad = (why: string): never => {
      throw new UserError(`command ${i} (${c.kind}): ${why}`);
    };
    switch (c.kind) {
      case "deploy":
      case "start":
      case "terminate":
        return { kind: c.kind };
      case "run":
        return { kind: "run", argv: [c.entryPoint, ...c.args], env: c.env };
      case "transfer": {
        const from =
          split(c.from) ?? bad(`source ${JSON.stringify(c.from)} is not stream:<id> or container:<path>`);
        const to =
          split(c.to) ?? bad(`target ${JSON.stringify(c.to)} is not stream:<id> or container:<path>`);
        if (from.scheme === "stream" && to.scheme === "container") {
          if (!c.stream || c.stream.streamId !== from.rest)
            bad(`upload from stream ${from.rest} carries no offer for that stream`);
          return { kind: "upload", path: pathInVolumes(to.rest, volumes), offer: c.stream! };
        }
        if (from.scheme === "container" && to.scheme === "stream")
          return { kind: "download", path: pathInVolumes(from.rest, volumes) };
        return bad("a transfer goes from a stream into the container or from the container to a stream");
      }
    }
  });
}

function split(uri: string): { scheme: "stream" | "container"; rest: string } | undefined {
  const m = /^(stream|container):(.*)$/s.exec(uri);
  if (!m) return undefined;
  return { scheme: m[1] as "stream" | "container", rest: m[2]! };
}
