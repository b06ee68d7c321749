/**
 * An append-only ledger (DESIGN §10): one JSON record per line in a file, each appended and
 * fsync'ed before `append` resolves, reloaded into a `LedgerIndex` on open. Without a path it is
 * kept in memory only (tests, throw-away runs).
 */
import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { PaymentError } from "../errors.js";
import { LedgerIndex, ledgerRecordSchema, type LedgerCheck, type LedgerRecord } from "./ledger-index.js";

export interface LedgerOptions {
  /** The JSON-lines file; created with its directory if missing. Omit for an in-memory ledger. */
  readonly path?: string;
}

export class Ledger {
  readonly path: string | undefined;
  readonly index: LedgerIndex;
  readonly #file: FileHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #broken: Error | undefined;
  #closed: Promise<void> | undefined;

  private constructor(path: string | undefined, index: LedgerIndex, file: FileHandle | undefined) {
    this.path = path;
    this.index = index;
    this.#file = file;
  }

  /**
   * Open (or create) a ledger and load its records. A torn last line (a crash mid-write) is cut
   * off; a bad line anywhere else is an error.
   * @throws PaymentError naming the file and line of a corrupt or contradictory record.
   */
  static async open(options: LedgerOptions = {}): Promise<Ledger> {
    const index = new LedgerIndex();
    const { path } = options;
    if (path === undefined) return new Ledger(undefined, index, undefined);
    await mkdir(dirname(path), { recursive: true });
    const text = await readFile(path, "utf8").catch((err: unknown) => {
      if (err instanceof Error && "code" in err && err.code === "ENOENT") return undefined;
      throw err;
    });
    if (text === undefined) return Ledger.#create(path, index);
    const lines = text.split("\n");
    const torn = lines.pop(); // "" when the file ends with a newline
    lines.forEach((line, i) => {
      const record = parseLine(line, `${path}:${i + 1}`);
      try {
        index.add(record);
      } catch (err) {
        throw new PaymentError(`ledger ${path}:${i + 1}: ${(err as Error).message}`, { cause: err });
      }
    });
    const file = await open(path, "a+");
    if (torn) await file.truncate(Buffer.byteLength(text) - Buffer.byteLength(torn));
    return new Ledger(path, index, file);
  }

  /** A new ledger file: create it, then fsync its directory so the file itself survives a crash. */
  static async #create(path: string, index: LedgerIndex): Promise<Ledger> {
    const file = await open(path, "a+");
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return new Ledger(path, index, file);
  }

  /**
   * Append a record; resolves once it is on disk (fsync). An exact duplicate is a no-op
   * (`"duplicate"`); a contradiction is refused with PaymentError and nothing is written.
   */
  append(record: LedgerRecord): Promise<LedgerCheck> {
    const parsed = ledgerRecordSchema.safeParse(record);
    if (!parsed.success) {
      return Promise.reject(
        new PaymentError(`invalid ledger record: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}`),
      );
    }
    const run = this.#queue.then(() => this.#write(parsed.data));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Wait for pending appends and close the file. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= this.#queue.then(async () => {
      await this.#file?.close();
    });
    return this.#closed;
  }

  async #write(record: LedgerRecord): Promise<LedgerCheck> {
    if (this.#closed) throw new PaymentError("ledger is closed");
    if (this.#broken)
      throw new PaymentError("ledger failed an earlier write; reopen it", { cause: this.#broken });
    if (this.index.check(record) === "duplicate") return "duplicate";
    if (this.#file) {
      try {
        await this.#file.write(`${JSON.stringify(record)}\n`);
        await this.#file.sync();
      } catch (err) {
        this.#broken = err as Error;
        throw new PaymentError(`ledger ${this.path}: write failed`, { cause: err });
      }
    }
    return this.index.add(record);
  }
}

function parseLine(line: string, where: string): LedgerRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new PaymentError(`ledger ${where}: not JSON`, { cause: err });
  }
  const r = ledgerRecordSchema.safeParse(json);
  if (!r.success) {
    throw new PaymentError(`ledger ${where}: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  }
  return r.data;
}
