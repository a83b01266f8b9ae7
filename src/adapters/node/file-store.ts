/**
 * A {@link KeyValueStore} kept as one file per key in a folder, through `node:fs` (Bun, Deno and
 * Node all provide it). Writes go to a temporary file that is renamed over the old one, so a reader
 * sees the old value or the new one, never a torn one.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KeyValueStore } from "../../stores/types.ts";

const encode = (key: string) => encodeURIComponent(key).replace(/\./g, "%2E");
const decode = (name: string) => decodeURIComponent(name);

export class FileStore implements KeyValueStore {
  readonly #dir: string;
  #ready: Promise<unknown> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #ensure(): Promise<unknown> {
    this.#ready ??= mkdir(this.#dir, { recursive: true });
    return this.#ready;
  }

  async get(key: string): Promise<string | null> {
    try {
      return await readFile(join(this.#dir, encode(key)), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return null;
      throw error;
    }
  }

  async put(key: string, value: string): Promise<void> {
    await this.#ensure();
    const file = join(this.#dir, encode(key));
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    await writeFile(tmp, value, "utf8");
    await rename(tmp, file);
  }

  async delete(key: string): Promise<void> {
    await rm(join(this.#dir, encode(key)), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    await this.#ensure();
    const names = await readdir(this.#dir);
    return names
      .filter((name) => !name.endsWith(".tmp"))
      .map(decode)
      .filter((key) => key.startsWith(prefix))
      .sort();
  }
}
