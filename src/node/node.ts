/**
 * A Trusted Compute Service node: the store, the JSON-RPC listener and the enclave manager with its
 * worker processes, composed by role. `startNode` is what `npm start` and `tcf node start` run, and
 * what the end-to-end tests start on a free port.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../config/index.js';
import { libsecp256k1 } from '../crypto/libsecp256k1.js';
import { createLogger, redactUrl, type Logger } from '../log/index.js';
import { Listener } from '../listener/server.js';
import { EnclaveManager } from '../manager/manager.js';
import { TcsService } from '../service/service.js';
import { openStore, type Store } from '../store/index.js';

export interface RunningNode {
  readonly config: NodeConfig;
  readonly store: Store;
  /** The listener's URL ('' for a manager-only node). */
  readonly url: string;
  readonly manager: EnclaveManager | undefined;
  readonly listener: Listener | undefined;
  stop(): Promise<void>;
}

export async function startNode(config: NodeConfig, log: Logger = createLogger('tcs')): Promise<RunningNode> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const storeLocation = config.store || path.join(config.dataDir, 'store');
  const store = await openStore(storeLocation, { log: log.child('store') });
  log.info('store open', { store: config.store ? redactUrl(config.store) : storeLocation, role: config.role, nodeId: config.nodeId });
  // Worker processes inherit the platform and TCF_SECP256K1, so they sign on the same build.
  log.info('crypto libraries', { openssl: process.versions.openssl, libsecp256k1: libsecp256k1().build });

  let service: TcsService | undefined;
  let listener: Listener | undefined;
  let manager: EnclaveManager | undefined;
  try {
    let url = '';
    if (config.role !== 'manager') {
      service = new TcsService(store, {
        maxPendingWorkOrders: config.listener.maxPendingWorkOrders,
        maxSyncWaitMs: config.listener.maxSyncWaitMs,
        lookUpPageSize: config.listener.lookUpPageSize,
        requesterKeyBinding: config.enclave.requesterKeyBinding,
        requireRequesterSignature: config.enclave.requireRequesterSignature,
        notifyUriPrefixes: config.listener.notifyUriPrefixes,
        requesterRatePerSecond: config.listener.requesterRatePerSecond,
        requesterBurst: config.listener.requesterBurst,
        notify: (uri, workOrderId) => postNotice(uri, workOrderId, log),
      });
      listener = new Listener(service, config.listener, log.child('listener'));
      url = await listener.start();
      log.info('listening for JSON-RPC', { url });
    }
    if (config.role !== 'listener') {
      manager = new EnclaveManager(config, store, log.child('manager'), url);
      await manager.start();
    }
    listener?.metrics.addSource(() => [...(service?.metricLines() ?? []), ...(manager?.metricLines() ?? [])]);
    const node: RunningNode = {
      config,
      store,
      url,
      manager,
      listener,
      async stop() {
        await listener?.stop();
        await manager?.stop();
        service?.close();
        await store.close();
        log.info('node stopped');
      },
    };
    return node;
  } catch (error) {
    await listener?.stop();
    await manager?.stop().catch(() => undefined);
    service?.close();
    await store.close();
    throw error;
  }
}

/** POSTs {"workOrderId"} to a requester's notifyUri: best effort, with a short timeout. */
async function postNotice(uri: string, workOrderId: string, log: Logger): Promise<void> {
  try {
    const response = await fetch(uri, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workOrderId }),
      redirect: 'error',
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) log.warn('notify URI answered an error', { workOrderId, status: response.status });
  } catch (error) {
    log.warn('could not notify the requester; it can still poll', { workOrderId, error: (error as Error).message });
  }
}
