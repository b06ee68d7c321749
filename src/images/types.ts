import type { Readable } from "node:stream";

/** An agora image's identity: `sha256:<hex>` of its `docker save` archive. */
export type ImageHash = `sha256:${string}`;

/** A place a provider can fetch image archives from, by hash. */
export interface ImageSource {
  /** Names the source in errors and logs (e.g. the base URL, or the serving node id). */
  readonly name: string;
  /**
   * Open the archive with this hash, or resolve `undefined` when this source does not have it.
   * The stream is unverified: the caller hashes it while reading.
   */
  open(hash: ImageHash, opts: { signal: AbortSignal }): Promise<Readable | undefined>;
}

/** One archive in the image store. */
export interface StoredImage {
  readonly hash: ImageHash;
  /** Size of the archive in bytes. */
  readonly sizeBytes: number;
  /** Last time the archive was stored or used (LRU order). */
  readonly lastUsed: Date;
  /** The Docker image id the archive loads as, when known. */
  readonly imageId?: string;
  /** A human name: the recipe name or the packed Docker reference. */
  readonly name?: string;
}

/** Metadata kept next to each stored archive. */
export interface ImageMeta {
  readonly imageId?: string;
  readonly name?: string;
}

/** Progress of `agora image build` / `pack`, in order of occurrence. */
export type BuildEvent =
  | { readonly type: "build.started"; readonly name: string; readonly recipeKey: string }
  | { readonly type: "build.cached"; readonly name: string; readonly hash: ImageHash }
  | { readonly type: "build.step"; readonly step: BuildStep; readonly message: string }
  | { readonly type: "build.log"; readonly line: string }
  | { readonly type: "build.bytes"; readonly step: BuildStep; readonly bytes: number }
  | {
      readonly type: "build.done";
      readonly name: string;
      readonly hash: ImageHash;
      readonly imageId: string;
      readonly sizeBytes: number;
      readonly durationMs: number;
      readonly cached: boolean;
    };

export type BuildStep = "bootstrap" | "import" | "save" | "load";

/** The outcome of a build or pack. */
export interface BuiltImage {
  readonly hash: ImageHash;
  /** The Docker image id, loaded in the engine. */
  readonly imageId: string;
  readonly sizeBytes: number;
  /** True when an earlier result was reused. */
  readonly cached: boolean;
}

/** Progress of a provider-side fetch. */
export type FetchEvent =
  | { readonly type: "fetch.started"; readonly hash: ImageHash; readonly source: string }
  | { readonly type: "fetch.bytes"; readonly hash: ImageHash; readonly bytes: number }
  | { readonly type: "fetch.verified"; readonly hash: ImageHash; readonly sizeBytes: number }
  | {
      readonly type: "fetch.loaded";
      readonly hash: ImageHash;
      readonly imageId: string;
      readonly cached: boolean;
    }
  | {
      readonly type: "fetch.failed";
      readonly hash: ImageHash;
      readonly source: string;
      readonly reason: string;
    };
