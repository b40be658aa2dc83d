/**
 * The in-memory cache behind the host's per-request lookups (tenants, users, permission sets), so
 * that a warm request sends no query of the host's own. Bounded (least recently used entries go
 * first), so a stream of distinct keys, hostile or not, can't grow the process without limit.
 *
 * Entries are kept true by invalidation (change notifications, see data/changes.ts). A lookup
 * that started before an invalidation may have read the old row: each invalidation starts a new
 * generation, and an answer is stored only if the generation it started in is still current.
 */

/** What a metrics exporter reads: lookups answered from memory, lookups that went to the database, entries held. */
export interface CacheStats {
  hits: number;
  misses: number;
  size: number;
}

export interface BoundedCacheOptions {
  /** Most entries held; the least recently used goes first. */
  maxEntries: number;
}

export interface BoundedCache<V> {
  /**
   * The value under `key`, else `load()`'s. A loaded value is stored under `key` and under
   * `alsoUnder(value)` (the same row reached by another key), unless it is undefined or the cache
   * was invalidated while it loaded. Concurrent misses of one key in one generation share one load.
   */
  get(key: string, load: () => Promise<V | undefined>, alsoUnder?: (value: V) => string[]): Promise<V | undefined>;
  /**
   * The value under `key` if it is held (a hit, made most recent), else undefined and nothing
   * counted or loaded: the warm path of a request reads this way, without a promise per lookup.
   */
  peek(key: string): V | undefined;
  /** Stores values read in bulk (a listing), under the same generation rule as `get`. */
  storeAll(load: () => Promise<[key: string, value: V][]>): Promise<void>;
  /** Forgets the entries `matches` picks, or every entry; answers being loaded are not stored. */
  invalidate(matches?: (value: V, key: string) => boolean): void;
  stats(): CacheStats;
}

interface Loading<V> {
  generation: number;
  answer: Promise<V | undefined>;
}

export function createBoundedCache<V>({ maxEntries }: BoundedCacheOptions): BoundedCache<V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError(`maxEntries must be a positive integer (got ${maxEntries})`);
  // A Map iterates in insertion order: re-inserting on each hit keeps the least recently used first.
  const entries = new Map<string, V>();
  const loading = new Map<string, Loading<V>>();
  let generation = 0;
  let hits = 0;
  let misses = 0;

  function store(key: string, value: V): void {
    entries.delete(key);
    entries.set(key, value);
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  }

  async function load(key: string, self: Loading<V>, read: () => Promise<V | undefined>, alsoUnder?: (value: V) => string[]): Promise<V | undefined> {
    try {
      const value = await read();
      if (value !== undefined && self.generation === generation) {
        store(key, value);
        for (const other of alsoUnder?.(value) ?? []) store(other, value);
      }
      return value;
    } finally {
      if (loading.get(key) === self) loading.delete(key);
    }
  }

  function peek(key: string): V | undefined {
    const value = entries.get(key);
    if (value === undefined) return undefined;
    hits += 1;
    entries.delete(key);
    entries.set(key, value);
    return value;
  }

  return {
    peek,
    get(key, read, alsoUnder) {
      const value = peek(key);
      if (value !== undefined) return Promise.resolve(value);
      misses += 1;
      const pending = loading.get(key);
      if (pending && pending.generation === generation) return pending.answer;
      const self: Loading<V> = { generation, answer: undefined! };
      loading.set(key, self);
      self.answer = load(key, self, read, alsoUnder);
      return self.answer;
    },
    async storeAll(read) {
      const startedIn = generation;
      const loaded = await read();
      if (startedIn !== generation) return;
      for (const [key, value] of loaded) store(key, value);
    },
    invalidate(matches) {
      generation += 1;
      if (!matches) return entries.clear();
      for (const [key, value] of entries) if (matches(value, key)) entries.delete(key);
    },
    stats: () => ({ hits, misses, size: entries.size }),
  };
}
