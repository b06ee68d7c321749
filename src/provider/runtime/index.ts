export type * from "./types.js";
export { DockerRuntime, type DockerRuntimeOptions } from "./docker.js";
export { locateInVolumes, type VolumePath } from "./paths.js";
