/** An ImageSource over HTTP(S): GET a URL made from the hash; 404 means "not here". */
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import type { Readable } from "node:stream";
import { ImageError } from "../errors.js";
import { hashHex } from "./hash.js";
import type { ImageHash, ImageSource } from "./types.js";

export interface HttpImageSourceOptions {
  /**
   * The archive's URL, with `{hash}` (`sha256:<hex>`) or `{hex}` placeholders; without one,
   * `/sha256/{hex}.tar` is appended — the store's own layout, so a static file server over
   * `$AGORA_HOME/images` is a source.
   */
  readonly url: string;
  /** Redirects followed at most. @default 5 */
  readonly maxRedirects?: number;
}

export class HttpImageSource implements ImageSource {
  readonly name: string;
  readonly #template: string;
  readonly #maxRedirects: number;

  constructor(opts: HttpImageSourceOptions) {
    const u = new URL(opts.url.replace(/\{hash\}|\{hex\}/g, "x"));
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new ImageError(`image source URL must be http(s): ${opts.url}`);
    this.#template = /\{hash\}|\{hex\}/.test(opts.url)
      ? opts.url
      : `${opts.url.replace(/\/+$/, "")}/sha256/{hex}.tar`;
    this.name = opts.url;
    this.#maxRedirects = opts.maxRedirects ?? 5;
  }

  /** The URL this source fetches `hash` from. */
  urlFor(hash: ImageHash): string {
    return this.#template.replaceAll("{hash}", hash).replaceAll("{hex}", hashHex(hash));
  }

  async open(hash: ImageHash, opts: { signal: AbortSignal }): Promise<Readable | undefined> {
    let url = this.urlFor(hash);
    for (let hop = 0; hop <= this.#maxRedirects; hop++) {
      const res = await request(url, opts.signal);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return res;
      res.resume();
      if (status === 404 || status === 410) return undefined;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        url = new URL(location, url).toString();
        continue;
      }
      throw new ImageError(`image source ${url} answered HTTP ${status} for ${hash}`);
    }
    throw new ImageError(`image source ${this.name}: more than ${this.#maxRedirects} redirects for ${hash}`);
  }
}

function request(url: string, signal: AbortSignal): Promise<IncomingMessage> {
  const get = url.startsWith("https:") ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { signal }, resolve);
    req.once("error", (err) =>
      reject(signal.aborted ? err : new ImageError(`image source ${url}: ${err.message}`, { cause: err })),
    );
  });
}
