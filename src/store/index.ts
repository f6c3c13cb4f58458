/**
 * store/ owns everything a TCS persists: the Store interface (store.ts) and its two real engines,
 * LMDB embedded in one node (lmdb.ts); PostgreSQL for nodes that share work comes next.
 */
import type { Store } from './store.js';

export type * from './store.js';
export { LmdbStore } from './lmdb.js';

/** `postgres://…` or `postgresql://…` opens PostgreSQL; anything else is an LMDB directory. */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) throw new Error('the PostgreSQL store is not part of this build yet');
  const { LmdbStore } = await import('./lmdb.js');
  return new LmdbStore(location);
}
