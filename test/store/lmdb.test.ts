import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore } from '../../src/store/index.js';
import { storeConformance } from './conformance.js';

storeConformance('LMDB', async () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-lmdb-'));
  const store = new LmdbStore(directory);
  return {
    store,
    async cleanup() {
      await store.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
});
