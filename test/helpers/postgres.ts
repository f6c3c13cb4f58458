/**
 * Where the PostgreSQL tests find their server: TCF_TEST_POSTGRES_URL, else the local default. In CI a
 * missing server is a failure (.ci/run makes sure one runs); elsewhere those tests are skipped with a note.
 */
import { after } from 'node:test';
import pg from 'pg';

export const POSTGRES_URL = process.env.TCF_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    const reason = `PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}); set TCF_TEST_POSTGRES_URL to run these tests`;
    if (process.env.CI === 'true') throw new Error(`${reason}. CI must run them.`);
    return { ok: false, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh schema name per test file, so runs never collide. */
export function testSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** One store a node-level test runs on: LMDB (no URL), or PostgreSQL in a schema of its own. */
export interface StoreUnderTest {
  name: string;
  /** The node's `store` setting; undefined for the embedded LMDB default. */
  store?: string;
  /** Why the PostgreSQL run is skipped (not reachable outside CI). */
  skip?: string;
}

/**
 * LMDB, and PostgreSQL in a fresh schema when reachable. The schema is dropped once the test file is
 * done: call this at the top level of the file, where `after` is the file's own hook.
 */
export async function storesUnderTest(schemaPrefix: string): Promise<StoreUnderTest[]> {
  const postgres = await postgresAvailable();
  if (!postgres.ok) return [{ name: 'LMDB' }, { name: 'PostgreSQL', skip: postgres.reason }];
  const schema = testSchema(schemaPrefix);
  after(async () => {
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });
  return [{ name: 'LMDB' }, { name: 'PostgreSQL', store: `${POSTGRES_URL}?schema=${schema}` }];
}
