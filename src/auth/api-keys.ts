/**
 * API keys: how they are made, hashed and stored. The key itself is never stored: it is shown once,
 * when created, and kept as `key:<sha256 hex>` (`stores/layout.ts`) holding the key's session. The
 * request path reads a key's session at most once per max age (`GATEWAY_CONFIG_MAX_AGE_MS`, default
 * 1 s; 0: on every request), as Tyk caches sessions locally, and at once after an admin write the
 * gateway handled; an unknown key is looked up every time. So a revoked, changed or deactivated key
 * stops working on the next request of the process or isolate that handled the change, and within
 * the max age (plus the store's propagation) everywhere else; an expiry is judged on every request.
 */
import * as v from "valibot";
import { type KeySession, KeySessionSchema } from "../policy/model.ts";
import { safeJson } from "../policy/store.ts";
import { API_KEY_PREFIX } from "../stores/layout.ts";
import type { KeyValueStore } from "../stores/types.ts";

/** Two lower-case hex digits for each byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

const encoder = new TextEncoder();

/** SHA-256 of a key, lower-case hex: the only form in which keys are stored. */
export async function hashKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
  let hex = "";
  for (let i = 0; i < digest.length; i++) hex += HEX[digest[i]!];
  return hex;
}

/**
 * The hashes of the keys presented lately, so that a key presented again is not hashed again (a
 * digest costs a call into the runtime and a wait on every request). The hash is a pure function
 * of the key, so a remembered one is always right: nothing here decides whether a key is valid,
 * which is read from the store on every request. Bounded: at most `max` keys (of at most
 * {@link MAX_REMEMBERED_KEY_LENGTH} characters), the oldest forgotten first.
 */
export class KeyHashes {
  readonly #hashes = new Map<string, string>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  /** The key's hash: at once when it was seen lately, else once hashed. */
  of(key: string): string | Promise<string> {
    const known = this.#hashes.get(key);
    if (known !== undefined) return known;
    return hashKey(key).then((hash) => {
      if (key.length <= MAX_REMEMBERED_KEY_LENGTH) {
        if (this.#hashes.size >= this.#max) this.#hashes.delete(this.#hashes.keys().next().value!);
        this.#hashes.set(key, hash);
      }
      return hash;
    });
  }
}

/** Longer credentials than this are hashed every time (a key the Gateway API makes is at most 256). */
export const MAX_REMEMBERED_KEY_LENGTH = 512;

/** A new key: 32 random bytes, base64url (43 characters). */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const isKeyHash = (value: string) => /^[0-9a-f]{64}$/.test(value);

/** Freezes a parsed value and everything in it, so that one parse can serve many requests. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

export class KeyRepository {
  readonly #store: KeyValueStore;
  /** With `reuseParsed`: per key hash, the last stored text read, its parsed (frozen) session, and when it was read. */
  readonly #parsed: Map<string, { raw: string; session: Readonly<KeySession>; readAt: number }> | undefined;
  readonly #maxParsed: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  /**
   * @param options.reuseParsed keep the last session parsed per key (at most `maxParsed` keys),
   *   frozen: read again from the store once it is older than `maxAgeMs` (default 0: every time),
   *   and its parse reused when the store hands back the very same text. For the request path,
   *   which only reads sessions; the management APIs read and parse every time.
   */
  constructor(store: KeyValueStore, options: { reuseParsed?: boolean; maxParsed?: number; maxAgeMs?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#parsed = options.reuseParsed ? new Map() : undefined;
    this.#maxParsed = options.maxParsed ?? 1024;
    this.#maxAgeMs = options.maxAgeMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  /** Forgets every session kept: the next request of each key reads the store (after an admin write). */
  invalidate(): void {
    this.#parsed?.clear();
  }

  /** Hashes of every stored key. */
  async hashes(): Promise<string[]> {
    return (await this.#store.list(API_KEY_PREFIX)).map((k) => k.slice(API_KEY_PREFIX.length));
  }

  /** A session kept within the max age, at once; else the store's. */
  get(hash: string): KeySession | null | Promise<KeySession | null> {
    const parsed = this.#parsed;
    if (parsed !== undefined && this.#maxAgeMs > 0) {
      const known = parsed.get(hash);
      if (known !== undefined && this.#now() - known.readAt < this.#maxAgeMs) return known.session;
    }
    return this.#read(hash);
  }

  async #read(hash: string): Promise<KeySession | null> {
    const readAt = this.#now();
    const raw = await this.#store.get(API_KEY_PREFIX + hash);
    const parsed = this.#parsed;
    if (parsed === undefined) return raw === null ? null : parse(raw);
    if (raw === null) {
      parsed.delete(hash);
      return null;
    }
    const known = parsed.get(hash);
    if (known !== undefined && known.raw === raw) {
      known.readAt = readAt;
      return known.session;
    }
    const session = parse(raw);
    if (session === null) parsed.delete(hash);
    else {
      if (known === undefined && parsed.size >= this.#maxParsed) parsed.delete(parsed.keys().next().value!);
      parsed.set(hash, { raw, session: deepFreeze(session), readAt });
    }
    return session;
  }

  put(hash: string, session: KeySession): Promise<void> {
    return this.#store.put(API_KEY_PREFIX + hash, JSON.stringify(session));
  }

  delete(hash: string): Promise<void> {
    return this.#store.delete(API_KEY_PREFIX + hash);
  }
}

function parse(raw: string): KeySession | null {
  const parsed = v.safeParse(KeySessionSchema, safeJson(raw));
  return parsed.success ? parsed.output : null;
}
