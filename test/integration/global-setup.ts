/** Integration-suite setup: fail fast, with one clear message, when the Docker engine is not up. */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  try {
    execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], {
      stdio: "pipe",
      timeout: 15_000,
    });
  } catch (err) {
    throw new Error(
      "integration tests need a running Docker engine: run `npm run setup` first (as root on Debian)",
      { cause: err },
    );
  }
}
