import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageError } from "../../../src/errors.js";
import { HttpImageSource } from "../../../src/images/http-source.js";
import { readAll } from "./fakes.js";

const HEX = "b".repeat(64);
const HASH = `sha256:${HEX}` as const;

describe("HttpImageSource", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === `/sha256/${HEX}.tar`) res.end("archive bytes");
      else if (path === "/moved") res.writeHead(302, { location: `/sha256/${HEX}.tar` }).end();
      else if (path === "/loop") res.writeHead(302, { location: "/loop" }).end();
      else if (path === "/broken") res.writeHead(500).end("boom");
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const open = (src: HttpImageSource) => src.open(HASH, { signal: new AbortController().signal });

  it("fetches <url>/sha256/<hex>.tar (the store's layout) when the URL has no placeholder", async () => {
    const src = new HttpImageSource({ url: `${base}/` });
    expect(src.urlFor(HASH)).toBe(`${base}/sha256/${HEX}.tar`);
    expect((await readAll((await open(src))!)).toString()).toBe("archive bytes");
  });

  it("fills {hash} and {hex} placeholders", () => {
    expect(new HttpImageSource({ url: "https://x.example/i/{hex}?h={hash}" }).urlFor(HASH)).toBe(
      `https://x.example/i/${HEX}?h=${HASH}`,
    );
  });

  it("answers undefined on 404 (the source does not have it)", async () => {
    expect(await open(new HttpImageSource({ url: `${base}/missing/{hex}` }))).toBeUndefined();
  });

  it("follows redirects, but not forever", async () => {
    expect(await open(new HttpImageSource({ url: `${base}/moved?{hex}` }))).toBeDefined();
    await expect(open(new HttpImageSource({ url: `${base}/loop?{hex}`, maxRedirects: 2 }))).rejects.toThrow(
      /more than 2 redirects/,
    );
  });

  it("turns other statuses and connection errors into ImageError naming the URL", async () => {
    await expect(open(new HttpImageSource({ url: `${base}/broken?{hex}` }))).rejects.toThrow(
      new ImageError(`image source ${base}/broken?${HEX} answered HTTP 500 for ${HASH}`),
    );
    await expect(open(new HttpImageSource({ url: "http://127.0.0.1:1/{hex}" }))).rejects.toThrow(
      /image source http:\/\/127\.0\.0\.1:1\/b+: .*ECONNREFUSED/,
    );
  });

  it("refuses URLs that are not http(s)", () => {
    expect(() => new HttpImageSource({ url: "ftp://x/{hex}" })).toThrow("image source URL must be http(s)");
  });
});
