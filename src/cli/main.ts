/** Entry point of the `agora` command. */
import { AgoraError, UserError } from "../errors.js";
import { buildProgram } from "./program.js";

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof AgoraError) {
    console.error(`agora: ${err.message}`);
    process.exitCode = err instanceof UserError ? 2 : 1;
  } else throw err;
}
