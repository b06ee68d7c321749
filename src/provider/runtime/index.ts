export type * from "./types.js";
export { DockerRuntime, type DockerRuntimeOptions } from "./docker.js";
