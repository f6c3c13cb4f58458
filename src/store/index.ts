/**
 * store/ owns everything a TCS persists: the Store interface (store.ts) and its two real engines,
 * LMDB embedded in one node (lmdb.ts) and PostgreSQL shared by many (postgres.ts).
 */
import type { Store } from './store.js';

export type * from './store.js';
export { LmdbStore } from './lmdb.js';
export { PostgresStore } from './postgres.js';

/** `postgres://…` or `postgresql://…` opens PostgreSQL; anything else is an LMDB directory. */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(location);
  }
  const { LmdbStore } = await import('./lmdb.js');
  return new LmdbStore(location);
}
