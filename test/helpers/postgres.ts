/**
 * Where the PostgreSQL tests find their server: TCF_TEST_POSTGRES_URL, else the local default. In CI a
 * missing server is a failure (.ci/run makes sure one runs); elsewhere those tests are skipped with a note.
 */
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
