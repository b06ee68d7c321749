/** Small helpers shared by the images domain. */

/** The message of an error, or the string form of anything else thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True for a file-system error saying the path does not exist. */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "ENOENT";
}
