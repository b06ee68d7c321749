/**
 * Node identities: an Ed25519 key pair (node:crypto). The printable `nodeId` is the raw 32-byte
 * public key in base64url (43 characters), so a message's `from` is also the key that verifies it.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from "node:crypto";
import type { KeyObject } from "node:crypto";
import { chmod, link, mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, ProtocolError } from "../errors.js";
import { LruCache } from "./lru.js";

/** A node's public identity: base64url of the raw Ed25519 public key. */
export type NodeId = string;

/** File name of the private key inside a data dir. */
export const IDENTITY_FILE = "identity.key";

const NODE_ID_RE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** True when `value` has the shape of a node id (43 base64url characters encoding 32 bytes). */
export function isNodeId(value: string): boolean {
  return NODE_ID_RE.test(value);
}

export class NodeIdentity {
  readonly nodeId: NodeId;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    if (typeof jwk.x !== "string") throw new ProtocolError("Ed25519 public key has no x coordinate");
    this.nodeId = jwk.x;
  }

  /** A fresh identity that lives only in memory (tests, ephemeral requestors). */
  static generate(): NodeIdentity {
    return new NodeIdentity(generateKeyPairSync("ed25519").privateKey);
  }

  /** An identity from a PKCS#8 PEM private key. */
  static fromPem(pem: string): NodeIdentity {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ed25519") {
      throw new ConfigError(`identity key is ${key.asymmetricKeyType ?? "unknown"}, expected ed25519`);
    }
    return new NodeIdentity(key);
  }

  /**
   * Load `<dataDir>/identity.key`, or create it (mode 0600, never overwriting a concurrent
   * creator's file). A key file readable by group or others is refused.
   */
  static async loadOrCreate(dataDir: string): Promise<NodeIdentity> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, IDENTITY_FILE);
    const fresh = NodeIdentity.generate();
    // Write a complete private temp file, then link it into place: the name appears atomically,
    // so a concurrent loader never reads a half-written key, and an existing key is never replaced.
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      const handle = await open(tmp, "wx", 0o600);
      try {
        await handle.writeFile(fresh.toPem());
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(tmp, 0o600);
      await link(tmp, file);
      return fresh;
    } catch (err) {
      if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) {
        throw new ConfigError(`cannot create identity key ${file}`, { cause: err });
      }
    } finally {
      await rm(tmp, { force: true });
    }
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new ConfigError(
        `identity key ${file} has mode ${(info.mode & 0o777).toString(8)}; it must be 600 (chmod 600 ${file})`,
      );
    }
    try {
      return NodeIdentity.fromPem(await readFile(file, "utf8"));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`identity key ${file} is not a valid Ed25519 PEM key`, { cause: err });
    }
  }

  /** The private key as PKCS#8 PEM. */
  toPem(): string {
    return this.#privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  /** An Ed25519 signature over `data` (64 bytes). */
  sign(data: Uint8Array): Uint8Array {
    return sign(null, data, this.#privateKey);
  }
}

/** Verifying keys of recently seen peers: building a KeyObject costs about a tenth of a verify. */
const publicKeys = new LruCache<NodeId, KeyObject>(4096);

function publicKeyOf(nodeId: NodeId): KeyObject {
  const cached = publicKeys.get(nodeId);
  if (cached) return cached;
  if (!isNodeId(nodeId)) throw new ProtocolError(`not a node id: ${JSON.stringify(nodeId.slice(0, 64))}`);
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: nodeId }, format: "jwk" });
  publicKeys.set(nodeId, key);
  return key;
}

/** True when `signature` is `nodeId`'s Ed25519 signature over `data`; false for any malformed input. */
export function verifySignature(nodeId: NodeId, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== 64) return false;
  try {
    return verify(null, data, publicKeyOf(nodeId), signature);
  } catch {
    return false;
  }
}
