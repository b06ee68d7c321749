/**
 * Output plumbing for commands run in a container: the engine's multiplexed stream (8-byte frame
 * headers), the wrapper's pid line, and capped capture. Docker-free.
 */

export type OutputStream = "stdout" | "stderr";

/**
 * Splits the engine's multiplexed exec stream into stdout and stderr payloads. Each frame is an
 * 8-byte header (stream type, 3 zero bytes, big-endian payload length) and the payload.
 */
export class FrameDemuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #onFrame: (stream: OutputStream, payload: Buffer) => void;

  constructor(onFrame: (stream: OutputStream, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 8) {
      const type = buf[0];
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const payload = buf.subarray(8, 8 + size);
      // Type 0 (stdin) never carries output; 1 is stdout, 2 is stderr.
      if (type === 2) this.#onFrame("stderr", payload);
      else this.#onFrame("stdout", payload);
      buf = buf.subarray(8 + size);
    }
    this.#pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  /** Bytes of an incomplete frame still held (non-zero at the end means the stream was cut). */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/** Keeps at most `maxBytes` of one output stream and remembers whether more arrived. */
export class CappedOutput {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer): void {
    const room = this.#maxBytes - this.#bytes;
    if (chunk.length > room) this.#truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(Buffer.from(kept));
    this.#bytes += kept.length;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

/**
 * Reads the first line the exec wrapper prints on stdout (its pid) and hands back everything after
 * it as ordinary output.
 */
export class PidLineReader {
  #head: Buffer = Buffer.alloc(0);
  #pid: number | undefined;
  #done = false;
  readonly #waiters: ((pid: number | undefined) => void)[] = [];

  /** Consume a stdout chunk; returns the part that belongs to the command's own output. */
  take(chunk: Buffer): Buffer {
    if (this.#done) return chunk;
    const buf = Buffer.concat([this.#head, chunk]);
    const nl = buf.indexOf(0x0a);
    if (nl < 0) {
      this.#head = buf;
      if (buf.length > 32) this.finish(); // not a pid line: give up, keep the bytes as output
      return this.#done ? buf : Buffer.alloc(0);
    }
    const line = buf.subarray(0, nl).toString("ascii").trim();
    this.#head = Buffer.alloc(0);
    if (/^[0-9]{1,10}$/.test(line)) {
      this.#pid = Number(line);
      this.finish();
      return buf.subarray(nl + 1);
    }
    this.finish();
    return buf;
  }

  /** No pid line will come (the stream ended or was not a wrapper's). */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w(this.#pid);
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Resolves with the pid once read (or undefined when none will come). */
  wait(): Promise<number | undefined> {
    if (this.#done) return Promise.resolve(this.#pid);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
