import { describe, it } from 'node:test';
import { PostgresStore } from '../../src/store/index.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';
import { storeConformance } from './conformance.js';

const availability = await postgresAvailable();

if (availability.ok) {
  storeConformance('PostgreSQL', async () => {
    const store = await PostgresStore.open(POSTGRES_URL, { schema: testSchema('tcf_conformance') });
    return {
      store,
      async cleanup() {
        await store.dropSchema();
        await store.close();
      },
    };
  });
} else {
  describe('Store conformance: PostgreSQL', () => {
    it('needs a PostgreSQL server', { skip: availability.reason }, () => undefined);
  });
}
