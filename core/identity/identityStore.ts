import fs from 'node:fs';
import { encodeKey } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import { SecureStore } from '../store/secureStore.js';
import { ensureStateDir } from '../store/stateDir.js';
import { decodeKey, generateKeyPairs, type KeyPairs, verifyKeyPairs } from './keys.js';

/** identity.json as stored: keys in base64, so a person can compare them with `wg` output. */
type IdentityFile = {
  version: 1;
  name: string | null;
  createdAt: string;
  wireguard: { privateKey: string; publicKey: string };
  signing: { secretKey: string; publicKey: string };
};

export interface Identity {
  name: string | null;
  createdAt: string;
  keys: KeyPairs;
  /** the file it lives in, for messages */
  path: string;
}

const STORE_NAME = 'identity';
const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A node name: what peers and DNS-like lookups call it, so hostname rules. */
export function checkNodeName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new OverlayError('EUSAGE', `"${name}" is not a valid node name`, {
      hint: 'use 1-63 lowercase letters, digits and dashes, not starting or ending with a dash',
    });
  }
  return name;
}

function validateIdentityFile(data: unknown): IdentityFile {
  const d = data as Partial<IdentityFile> | null;
  if (typeof d !== 'object' || d === null) throw corrupt('not a JSON object');
  if (d.version !== 1) throw corrupt(`unknown version ${JSON.stringify(d.version)}`);
  if (d.name !== null && (typeof d.name !== 'string' || !NAME_PATTERN.test(d.name))) {
    throw corrupt('bad "name"');
  }
  if (typeof d.createdAt !== 'string' || Number.isNaN(Date.parse(d.createdAt)))
    throw corrupt('bad "createdAt"');
  if (typeof d.wireguard !== 'object' || d.wireguard === null) throw corrupt('missing "wireguard" keys');
  if (typeof d.signing !== 'object' || d.signing === null) throw corrupt('missing "signing" keys');
  verifyKeyPairs(decodeKeys(d as IdentityFile));
  return d as IdentityFile;
}

function decodeKeys(f: IdentityFile): KeyPairs {
  return {
    wireguard: {
      privateKey: decodeKey(f.wireguard.privateKey, 32, 'wireguard.privateKey'),
      publicKey: decodeKey(f.wireguard.publicKey, 32, 'wireguard.publicKey'),
    },
    signing: {
      secretKey: decodeKey(f.signing.secretKey, 64, 'signing.secretKey'),
      publicKey: decodeKey(f.signing.publicKey, 32, 'signing.publicKey'),
    },
  };
}

function corrupt(why: string): OverlayError {
  return new OverlayError('ESTORE_CORRUPT', why);
}

function freshIdentityFile(now: Date): IdentityFile {
  const keys = generateKeyPairs();
  const file: IdentityFile = {
    version: 1,
    name: null,
    createdAt: now.toISOString(),
    wireguard: {
      privateKey: encodeKey(keys.wireguard.privateKey),
      publicKey: encodeKey(keys.wireguard.publicKey),
    },
    signing: { secretKey: encodeKey(keys.signing.secretKey), publicKey: encodeKey(keys.signing.publicKey) },
  };
  keys.wireguard.privateKey.fill(0);
  keys.signing.secretKey.fill(0);
  return file;
}

/** Throws unless `dir` already exists as a directory (without creating or changing it). */
function ensureExistingDir(dir: string): void {
  if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
}

function toIdentity(f: IdentityFile, path: string): Identity {
  return { name: f.name, createdAt: f.createdAt, keys: decodeKeys(f), path };
}

/**
 * The node's identity in its state directory: made on first use, then only ever read.
 * A corrupt or unsafe file is refused (see SecureStore), never replaced.
 */
export class IdentityStore {
  private constructor(private readonly store: SecureStore<IdentityFile>) {}

  static openOrCreate(stateDir: string, now: Date = new Date()): IdentityStore {
    ensureStateDir(stateDir);
    const existing = SecureStore.open(stateDir, STORE_NAME, validateIdentityFile);
    if (existing) return new IdentityStore(existing);
    return IdentityStore.create(stateDir, freshIdentityFile(now));
  }

  /**
   * The identity to use for a step that may fail (a join): the stored one, or a new one kept in
   * memory until `persist` — so that a failed step leaves the state directory exactly as it was.
   * A new one may be persisted in another directory than `stateDir` (a join that learns only from
   * the inviter's answer which network, and so which directory, it is for).
   */
  static openOrPrepare(
    stateDir: string,
    now: Date = new Date(),
  ): { identity: Identity; existing: boolean; persist(dir?: string): IdentityStore } {
    let dirExists = true;
    try {
      ensureExistingDir(stateDir);
    } catch {
      dirExists = false;
    }
    if (dirExists) {
      ensureStateDir(stateDir); // refuses an unsafe directory before anything is read from it
      const existing = SecureStore.open(stateDir, STORE_NAME, validateIdentityFile);
      if (existing) {
        const store = new IdentityStore(existing);
        return { identity: store.load(), existing: true, persist: () => store };
      }
    }
    const file = freshIdentityFile(now);
    return {
      identity: toIdentity(file, SecureStore.fileFor(stateDir, STORE_NAME)),
      existing: false,
      persist: (dir = stateDir) => {
        ensureStateDir(dir);
        return IdentityStore.create(dir, file);
      },
    };
  }

  private static create(stateDir: string, initial: IdentityFile): IdentityStore {
    const created =
      SecureStore.createExclusive(stateDir, STORE_NAME, initial, validateIdentityFile) ??
      // another process created it between our look and our write: theirs is the identity
      SecureStore.open(stateDir, STORE_NAME, validateIdentityFile);
    if (!created) throw new OverlayError('EINTERNAL', `identity in ${stateDir} vanished while being created`);
    return new IdentityStore(created);
  }

  /** Removes the identity: the next init or join makes new keys (`overlay leave`). */
  static forget(stateDir: string): void {
    SecureStore.remove(stateDir, STORE_NAME);
  }

  get path(): string {
    return this.store.path;
  }

  load(): Identity {
    return toIdentity(this.store.read(), this.store.path);
  }

  setName(name: string): void {
    this.store.write({ ...this.store.read(), name: checkNodeName(name) });
  }
}
