/**
 * store/ owns everything a TCS persists: the Store interface (store.ts) and its two real engines,
 * LMDB embedded in one node (lmdb.ts) and PostgreSQL shared by many (postgres.ts), chosen by location.
 */
import type { Logger } from '../log/index.js';
import { LmdbStore } from './lmdb.js';
import { PostgresStore } from './postgres.js';
import type { Store } from './store.js';

export type * from './store.js';
export { LmdbStore } from './lmdb.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';

/**
 * `postgres://…` or `postgresql://…` opens PostgreSQL (`?schema=` picks the schema); anything else is an
 * LMDB directory. `log` hears about lost database connections.
 */
export async function openStore(location: string, options: { log?: Logger } = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(location)) return PostgresStore.open(location, options);
  return new LmdbStore(location);
}
