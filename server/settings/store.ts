/**
 * Small key/value settings (the setup token's hash, the twin's zone state): a string per key.
 * Implementations: sqlite-store.ts, postgres-store.ts; the contract suite
 * tests/settings/settings-store.contract.ts runs on both.
 */

export interface SettingsStore {
  get(key: string): Promise<string | null>;
  /** null deletes the key. */
  set(key: string, value: string | null): Promise<void>;
  /**
   * Sets `key` to `value` only if it holds `expected` now (null: absent; a null value deletes),
   * atomically; whether it did. Two workers consuming one setup token: one gets true.
   */
  compareAndSet(key: string, expected: string | null, value: string | null): Promise<boolean>;
}
