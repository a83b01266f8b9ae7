/**
 * The key-value port: everything the gateway keeps between requests (definitions, and in later
 * features policies and hashed keys) is read and written through this interface. Each runtime's
 * entry builds one from its bindings: Workers KV, Deno KV, files on Bun, memory in tests.
 *
 * Values are strings (JSON documents). `list` returns the keys under a prefix, in key order.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}
