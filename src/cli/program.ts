/** The `agora` command: one commander program, one file per command group. */
import { Command } from "commander";
import { imageCommand } from "./image.js";
import { marketCommand } from "./market.js";
import { providerCommand } from "./provider.js";

/** Build the program (without running it). New command groups register here. */
export function buildProgram(): Command {
  const program = new Command("agora")
    .description("Agora: a market-based distributed executor (requestors, providers, images)")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  program.addCommand(imageCommand());
  program.addCommand(marketCommand());
  program.addCommand(providerCommand());
  return program;
}
