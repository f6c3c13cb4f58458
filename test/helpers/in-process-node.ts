/**
 * A real node started inside the test process (store, listener, enclave manager, worker processes),
 * with 2048-bit worker keys for speed, a silent logger and its own temporary data directory.
 */
import fs from 'node:fs';
import { loadConfig, type Json } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';
import { TcfClient } from '../../src/client/index.js';
import { tempDir } from './node-process.js';

export interface TestNode {
  node: RunningNode;
  client: TcfClient;
  /** The first worker's id. */
  workerId: string;
  stop(): Promise<void>;
}

type Section = Record<string, Json>;

export async function startTestNode(name: string, settings: { listener?: Section; workers?: Section; enclave?: Section; store?: string } = {}): Promise<TestNode> {
  const dataDir = tempDir(name);
  const overrides: Record<string, Json> = {
    dataDir,
    listener: { port: 0, ...settings.listener },
    workers: { processesPerWorker: 1, ...settings.workers },
    enclave: { rsaBits: 2048, ...settings.enclave },
  };
  if (settings.store) overrides.store = settings.store;
  const node = await startNode(loadConfig({ env: {}, overrides }), createLogger('test', { level: 'silent' }));
  return {
    node,
    client: new TcfClient(node.url),
    workerId: node.manager?.managedWorkers[0]?.workerId ?? '',
    async stop() {
      await node.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
