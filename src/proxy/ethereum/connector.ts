/**
 * The Ethereum connector: the bridge between the proxy model's contracts and a TCS's store.
 *
 * It registers the TCS's workers on chain (its account becomes their registrant, the only account that
 * may complete their work orders), follows the workOrderSubmitted events of those workers, puts each
 * work order in the store's queue for the enclave manager, and posts the worker's signed response —
 * and, once the requester has created a receipt, the worker's signed receipt update — back to the chain.
 *
 * Safety rests on three rules:
 * - It acts only on blocks at least `confirmations` deep, so a re-org shallower than that never
 *   touches what it has acted on. A deeper one is noticed (the remembered block's hash changed) and the
 *   connector re-reads from further back.
 * - Each work order is in the store before the cursor moves past its block, and cursor and owed
 *   completions are written together (one atomic file replace), so a restart never skips one.
 * - Every action first asks the chain whether it was already done (work order completed, worker's
 *   receipt update present), and a restart first waits for its own sent transactions to be mined, so
 *   re-reading blocks never completes a work order twice or adds a second receipt update.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ErrorCode, LAST_RECEIPT_UPDATE, ReceiptStatus, TcfError, type RpcErrorObject } from '../../protocol/errors.js';
import { canonicalId } from '../../protocol/ids.js';
import type { RpcResponse } from '../../protocol/rpc.js';
import type { Logger } from '../../log/index.js';
import type { ReceiptUpdate } from '../../protocol/messages.js';
import type { Store, WorkOrderOutcome } from '../../store/store.js';
import type { Deployment } from './deploy.js';
import { LedgerError, WorkOrderStatus, type EthereumLedger, type WorkOrderSubmittedEvent } from './ledger.js';

/** Owed completions checked and posted at once in one pass. */
const COMPLETIONS_IN_FLIGHT = 32;

/** Registration makes a worker active; any other status in the store is set right after. */
const WORKER_ACTIVE = 1;

export interface ConnectorOptions {
  ledger: EthereumLedger;
  deployment: Deployment;
  store: Store;
  /** The node's data directory: the connector keeps its memory (last block read, completions still owed) in its connector/ folder, one file per chain and registry. */
  dataDir: string;
  /** Blocks an event must be buried under before the connector acts on it (the re-org depth it survives). */
  confirmations: number;
  /** How often to look for new blocks and finished work orders. */
  pollIntervalMs: number;
  /** The store's cap on queued work; a full queue makes the connector wait, not drop. */
  maxPendingWorkOrders: number;
  /** How often the workers' on-chain records are compared with the store's (key rotations, status). */
  workerSyncIntervalMs?: number;
  blocksPerQuery?: number;
  log: Logger;
}

/** A completion the connector owes the chain. `error` is set for a request the TCS never queued (it was invalid). */
interface OwedCompletion {
  error?: RpcErrorObject;
  /** The block of our completion transaction; the entry is dropped once that block is confirmed. */
  completedAtBlock?: number;
}

interface ConnectorState {
  version: 1;
  chainId: number;
  workOrderRegistry: string;
  /** Every event up to and including this block has been handed to the store. */
  cursor: { blockNumber: number; blockHash: string | undefined };
  owed: Record<string, OwedCompletion>;
}

export interface ConnectorStatus {
  cursorBlock: number;
  owed: number;
  handedOff: number;
  completed: number;
  receiptUpdates: number;
  /** Passes that stopped early because the TCS queue was full. */
  queueFullWaits: number;
}

function stateFileName(deployment: Deployment): string {
  return `ethereum-connector-${deployment.chainId}-${deployment.addresses.workOrderRegistry.toLowerCase()}.json`;
}

/** The response a worker's outcome is posted as: what WorkOrderGetResult would answer in the direct model. */
export function outcomeResponse(workOrderId: string, outcome: WorkOrderOutcome): RpcResponse {
  return 'result' in outcome ? { jsonrpc: '2.0', id: workOrderId, result: outcome.result } : { jsonrpc: '2.0', id: workOrderId, error: outcome.error };
}

export class EthereumConnector {
  private readonly options: Required<Omit<ConnectorOptions, 'blocksPerQuery'>> & { blocksPerQuery?: number };
  private readonly stateFile: string;
  private state: ConnectorState;
  /** Workers whose work orders this connector serves: registered on chain by its account. */
  private readonly workerIds = new Set<string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastWorkerSync = 0;
  private readonly counters = { handedOff: 0, completed: 0, receiptUpdates: 0, queueFullWaits: 0 };

  constructor(options: ConnectorOptions) {
    this.options = { workerSyncIntervalMs: 60_000, ...options };
    this.stateFile = path.join(options.dataDir, 'connector', stateFileName(options.deployment));
    this.state = this.loadState();
  }

  get status(): ConnectorStatus {
    return { cursorBlock: this.state.cursor.blockNumber, owed: Object.keys(this.state.owed).length, ...this.counters };
  }

  /** The status in the Prometheus text format, for a node's GET /metrics. */
  metricLines(): string[] {
    const status = this.status;
    const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
    return [
      ...metric('tcf_connector_cursor_block', 'gauge', 'Last block whose work orders are all in the store.', status.cursorBlock),
      ...metric('tcf_connector_owed_completions', 'gauge', 'Work orders taken from the chain whose completion is not yet confirmed on it.', status.owed),
      ...metric('tcf_connector_handed_off_total', 'counter', 'Work orders taken from the chain into the store.', status.handedOff),
      ...metric('tcf_connector_completed_total', 'counter', 'Completions posted to the chain.', status.completed),
      ...metric('tcf_connector_receipt_updates_total', 'counter', 'Worker receipt updates posted to the chain.', status.receiptUpdates),
      ...metric('tcf_connector_queue_full_waits_total', 'counter', 'Passes cut short because the TCS queue was full.', status.queueFullWaits),
    ];
  }

  /** Waits for this account's own transactions, registers the workers, and starts following the chain. */
  async start(): Promise<void> {
    const { ledger, log } = this.options;
    const account = await ledger.account();
    if (!account) throw new Error('the connector needs a ledger that can send transactions');
    await ledger.settle();
    await this.syncWorkers();
    log.info('following the chain', {
      account,
      chainId: this.options.deployment.chainId,
      workOrderRegistry: this.options.deployment.addresses.workOrderRegistry,
      fromBlock: this.state.cursor.blockNumber + 1,
      confirmations: this.options.confirmations,
      owed: Object.keys(this.state.owed).length,
    });
    this.running = true;
    this.unsubscribe = this.options.store.subscribe((event) => {
      if (event.type === 'finished' && Object.hasOwn(this.state.owed, event.workOrderId)) this.wake?.();
    });
    this.loop = this.run();
  }

  /** Stops after the step in progress; the state file already holds everything needed to resume. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
  }

  /** One pass: read confirmed blocks, hand their work orders to the store, post what is finished. Exposed for tests. */
  async step(): Promise<void> {
    if (Date.now() - this.lastWorkerSync >= this.options.workerSyncIntervalMs) await this.syncWorkers();
    const head = await this.options.ledger.blockNumber();
    await this.checkCursor();
    await this.readBlocks(head - this.options.confirmations);
    await this.postCompletions(head);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (error) {
        // The chain node or the store is unavailable, or a transaction failed: everything owed is still
        // in the state file and the store, so the next pass retries it.
        this.options.log.warn('connector pass failed; retrying', { error: (error as Error).message });
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Workers

  /** Registers the store's workers that the chain does not know, and brings changed details and status up to date. */
  private async syncWorkers(): Promise<void> {
    const { ledger, store, log } = this.options;
    const account = (await ledger.account())!.toLowerCase();
    for (const workerId of await allWorkerIds(store)) {
      const local = await store.getWorker(workerId);
      if (!local) continue;
      const onChain = await ledger.retrieveWorker(workerId);
      try {
        if (!onChain) {
          const { status: _status, ...registration } = local;
          await ledger.registerWorker(registration);
          if (local.status !== WORKER_ACTIVE) await ledger.setWorkerStatus({ workerId, status: local.status });
          log.info('registered worker on chain', { workerId });
        } else {
          if (!isDeepStrictEqual(onChain.details, local.details)) {
            await ledger.updateWorker({ workerId, details: local.details });
            log.info('updated worker details on chain', { workerId });
          }
          if (onChain.status !== local.status) await ledger.setWorkerStatus({ workerId, status: local.status });
        }
        this.workerIds.add(canonicalId(workerId));
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        this.workerIds.delete(canonicalId(workerId));
        const registrant = await ledger.workerRegistrant(workerId).catch(() => undefined);
        // Worker ids are public, so another account may have registered this one first (squatting).
        log.error(
          'cannot serve this worker from the chain: its id is registered there by another account. Give the worker another name ' +
            '(workers.names) so its id is new, and give requesters this account for --registrant so they refuse workers registered by others',
          { workerId, account, registrant, reason: error.reason },
        );
      }
    }
    this.lastWorkerSync = Date.now();
  }

  // ------------------------------------------------------------------------------------------------
  // Following the chain

  /** Notices a re-org deeper than `confirmations` under the cursor and moves the cursor back before it. */
  private async checkCursor(): Promise<void> {
    const { cursor } = this.state;
    if (cursor.blockHash === undefined) return;
    const current = await this.options.ledger.blockHash(cursor.blockNumber);
    if (current === cursor.blockHash) return;
    const rewindTo = Math.max(this.options.deployment.deployedAtBlock - 1, cursor.blockNumber - Math.max(64, 2 * this.options.confirmations));
    this.options.log.warn('the chain re-organised deeper than the confirmations; reading those blocks again', {
      block: cursor.blockNumber,
      rememberedHash: cursor.blockHash,
      currentHash: current ?? null,
      rewindTo,
    });
    this.state.cursor = { blockNumber: rewindTo, blockHash: await this.options.ledger.blockHash(rewindTo) };
    this.options.ledger.forgetNonce();
    this.saveState();
  }

  private async readBlocks(safeBlock: number): Promise<void> {
    const from = this.state.cursor.blockNumber + 1;
    if (safeBlock < from) return;
    const query = this.options.blocksPerQuery === undefined ? {} : { blocksPerQuery: this.options.blocksPerQuery };
    let handedThrough = safeBlock;
    for await (const event of this.options.ledger.workOrderSubmittedEvents(from, safeBlock, query)) {
      if (!this.workerIds.has(event.workerId)) continue;
      const accepted = await this.handOff(event);
      if (!accepted) {
        // The store's queue is full: stop before this event's block and read it again next pass.
        this.counters.queueFullWaits += 1;
        handedThrough = event.blockNumber - 1;
        break;
      }
    }
    for await (const event of this.options.ledger.receiptCreatedEvents(from, handedThrough, query)) {
      // A work order not yet completed on chain gets its update right after its completion instead.
      const owed = this.state.owed[event.workOrderId];
      const awaitingCompletion = owed !== undefined && owed.completedAtBlock === undefined;
      if (!this.workerIds.has(event.workerId) || awaitingCompletion) continue;
      const update = (await this.options.store.getWorkOrder(event.workOrderId))?.completionUpdate;
      if (update) await this.postReceiptUpdate(update);
    }
    if (handedThrough >= from) {
      this.state.cursor = { blockNumber: handedThrough, blockHash: await this.options.ledger.blockHash(handedThrough) };
      this.saveState();
    }
  }

  /** Puts the work order in the store (or notes the error to post); false when the queue is full. */
  private async handOff(event: WorkOrderSubmittedEvent): Promise<boolean> {
    const { store, ledger, log } = this.options;
    const { workOrderId } = event;
    if (Object.hasOwn(this.state.owed, workOrderId)) return true;
    if ((await ledger.workOrderStatus(workOrderId)) === WorkOrderStatus.COMPLETED) return true;
    if (!event.request.ok) {
      log.warn('work order on chain is not a valid request; completing it with the error', { workOrderId, error: event.request.error.message });
      this.owe(workOrderId, { error: event.request.error.toRpcError() });
      return true;
    }
    const request = event.request.value;
    const outcome = await store.submitWorkOrder(
      { workOrderId, workerId: event.workerId, requesterId: canonicalId(request.requesterId), request, submittedAt: Date.now() },
      { maxPending: this.options.maxPendingWorkOrders },
    );
    if (outcome === 'busy') return false;
    if (outcome === 'duplicate') {
      const stored = await store.getWorkOrder(workOrderId);
      if (!stored || !isDeepStrictEqual(stored.request, request)) {
        this.owe(workOrderId, { error: new TcfError(ErrorCode.INVALID_PARAMETER, 'params.workOrderId: this id was already used for another work order at this TCS').toRpcError() });
        return true;
      }
    } else {
      this.counters.handedOff += 1;
      log.info('work order from chain queued', { workOrderId, workerId: event.workerId, block: event.blockNumber });
    }
    this.owe(workOrderId, {});
    return true;
  }

  private owe(workOrderId: string, completion: OwedCompletion): void {
    this.state.owed[workOrderId] = completion;
  }

  // ------------------------------------------------------------------------------------------------
  // Posting back

  private async postCompletions(head: number): Promise<void> {
    const { store, ledger, log } = this.options;
    let changed = false;
    const post = async ([workOrderId, owed]: [string, OwedCompletion]) => {
      if (owed.completedAtBlock !== undefined) {
        if (head - owed.completedAtBlock < this.options.confirmations) return;
        if ((await ledger.workOrderStatus(workOrderId)) === WorkOrderStatus.COMPLETED) {
          delete this.state.owed[workOrderId];
        } else {
          log.warn('our completion was re-organised away; posting it again', { workOrderId });
          ledger.forgetNonce();
          delete owed.completedAtBlock;
        }
        changed = true;
        return;
      }
      let response: RpcResponse;
      let completionUpdate: ReceiptUpdate | undefined;
      if (owed.error) response = { jsonrpc: '2.0', id: workOrderId, error: owed.error };
      else {
        const stored = await store.getWorkOrder(workOrderId);
        if (!stored?.outcome) return;
        response = outcomeResponse(workOrderId, stored.outcome);
        completionUpdate = stored.completionUpdate;
      }
      const status = await ledger.workOrderStatus(workOrderId);
      changed = true;
      if (status === undefined) {
        // Its submission was re-organised away; if the new branch carries it again, re-reading finds it.
        log.warn('the work order is no longer on chain; dropping its completion', { workOrderId });
        delete this.state.owed[workOrderId];
        return;
      }
      if (status === WorkOrderStatus.SUBMITTED) {
        try {
          owed.completedAtBlock = (await ledger.completeWorkOrder(workOrderId, response)).blockNumber;
          this.counters.completed += 1;
          log.info('work order completed on chain', { workOrderId, block: owed.completedAtBlock, outcome: 'result' in response ? 'result' : 'error' });
        } catch (error) {
          if (!(error instanceof LedgerError)) throw error;
          // A contract refusal does not change on retry; the outcome stays in the store for the operator.
          log.error('the chain refused the completion; giving it up', { workOrderId, reason: error.reason });
          delete this.state.owed[workOrderId];
          return;
        }
      } else {
        owed.completedAtBlock = await ledger.blockNumber();
      }
      if (completionUpdate) await this.postReceiptUpdate(completionUpdate);
    };
    // A bounded number at a time: a backlog of thousands must not become thousands of concurrent calls to the node.
    const owedEntries = Object.entries(this.state.owed);
    const results: PromiseSettledResult<void>[] = [];
    for (let start = 0; start < owedEntries.length; start += COMPLETIONS_IN_FLIGHT) {
      results.push(...(await Promise.allSettled(owedEntries.slice(start, start + COMPLETIONS_IN_FLIGHT).map(post))));
    }
    if (changed) this.saveState();
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Adds the worker's signed receipt update if the requester has created a receipt and the update is not there yet. */
  private async postReceiptUpdate(update: ReceiptUpdate): Promise<void> {
    const { ledger, log } = this.options;
    const workOrderId = canonicalId(update.workOrderId);
    const receipt = await ledger.retrieveReceipt(workOrderId);
    if (!receipt) return;
    if (await ledger.retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE, update.updaterId)) return;
    if (receipt.receiptCurrentStatus === ReceiptStatus.COMPLETED) {
      log.warn('the requester closed the receipt before the worker could add its update', { workOrderId });
      return;
    }
    try {
      await ledger.updateReceipt(update);
      this.counters.receiptUpdates += 1;
      log.info('worker receipt update posted', { workOrderId, updateType: update.updateType });
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      log.error('the chain refused the worker receipt update', { workOrderId, reason: error.reason });
    }
  }

  // ------------------------------------------------------------------------------------------------
  // State file

  private loadState(): ConnectorState {
    const { deployment } = this.options;
    const { stateFile } = this;
    const fresh: ConnectorState = {
      version: 1,
      chainId: deployment.chainId,
      workOrderRegistry: deployment.addresses.workOrderRegistry.toLowerCase(),
      cursor: { blockNumber: deployment.deployedAtBlock - 1, blockHash: undefined },
      owed: {},
    };
    let text: string;
    try {
      text = fs.readFileSync(stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fresh;
      throw error;
    }
    const saved = JSON.parse(text) as Partial<ConnectorState>;
    if (saved.version !== 1 || saved.chainId !== fresh.chainId || saved.workOrderRegistry !== fresh.workOrderRegistry || !saved.cursor || !saved.owed) {
      throw new Error(`${stateFile} is not this connector's state for chain ${fresh.chainId} and registry ${fresh.workOrderRegistry}; move it away to start over`);
    }
    return saved as ConnectorState;
  }

  /** Replaces the state file atomically: a crash leaves the old state or the new, never half of one. */
  private saveState(): void {
    const { stateFile } = this;
    fs.mkdirSync(path.dirname(stateFile), { recursive: true, mode: 0o700 });
    const temporary = `${stateFile}.tmp`;
    const handle = fs.openSync(temporary, 'w', 0o600);
    try {
      fs.writeSync(handle, JSON.stringify(this.state));
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    fs.renameSync(temporary, stateFile);
  }
}

async function allWorkerIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.lookUpWorkers({}, after, 100);
    ids.push(...page.ids);
    if (!page.nextCursor) return ids;
    after = page.nextCursor;
  }
}
