/** The Executor as the package root exports it: the embedded `local()` network is its default. */
import { Executor as RequestorExecutor, type ExecutorOptions } from "../requestor/index.js";
import { local } from "./local-network.js";

export class Executor extends RequestorExecutor {
  /** @throws UserError naming the bad option. */
  constructor(options: ExecutorOptions) {
    super(options, { network: () => local() });
  }
}
