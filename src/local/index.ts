/** local/: the embedded network (provider agents in this process) and the Executor that defaults to it. */
export { local, type LocalNetworkOptions } from "./local-network.js";
export { Executor } from "./executor.js";
