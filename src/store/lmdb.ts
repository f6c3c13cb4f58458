/**
 * The embedded Store on LMDB (lmdb-js): one environment in a directory, with sub-databases for the
 * records, a FIFO queue keyed by submission sequence, and secondary indexes for the lookups. Every
 * state change runs in one write transaction and resolves only once LMDB has flushed it, so a
 * `kill -9` right after a call returns loses nothing. Events are in-process: an LMDB store serves
 * one node (role `all`); nodes that share work use PostgreSQL.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { ReceiptStatus } from '../protocol/errors.js';
import { canonicalId } from '../protocol/ids.js';
import type { ReceiptCreate, ReceiptUpdate, WorkerDetails, WorkerRecord } from '../protocol/messages.js';
import type {
  NewWorkOrder,
  Page,
  ReceiptFilter,
  Store,
  StoredReceipt,
  StoredWorkOrder,
  StoreEvent,
  SubmitOutcome,
  WorkerFilter,
  WorkOrderOutcome,
} from './store.js';

/** [field, value, id] for an entry; [field, value] as the start of a range. */
type IndexKey = string[];
type QueueEntry = { workOrderId: string; workerId: string };

/**
 * A work order's state as kept on disk, without its request: the request (the bulk of the bytes) is
 * written once at submission in its own sub-database, and claims and outcomes rewrite only this row.
 * Its place in the FIFO survives a claim so that a release puts it back there.
 */
type WorkOrderRow = Omit<StoredWorkOrder, 'request'> & { queueSeq: number };

const PENDING_KEY = 'pending';
const SEQUENCE_KEY = 'sequence';

function workerIndexKeys(worker: WorkerRecord): IndexKey[] {
  return [
    ['type', String(worker.workerType), worker.workerId],
    ['org', canonicalId(worker.organizationId), worker.workerId],
    ...worker.applicationTypeId.map((app): IndexKey => ['app', canonicalId(app), worker.workerId]),
  ];
}

function receiptIndexKeys(workOrderId: string, receipt: StoredReceipt): IndexKey[] {
  return [
    ['service', canonicalId(receipt.create.workerServiceId), workOrderId],
    ['worker', canonicalId(receipt.create.workerId), workOrderId],
    ['requester', canonicalId(receipt.create.requesterId), workOrderId],
    ['status', String(receipt.currentStatus), workOrderId],
  ];
}

export class LmdbStore implements Store {
  private readonly root: RootDatabase;
  private readonly workers: Database<WorkerRecord, string>;
  private readonly workerIndex: Database<true, IndexKey>;
  private readonly workOrders: Database<WorkOrderRow, string>;
  private readonly requests: Database<StoredWorkOrder['request'], string>;
  private readonly queue: Database<QueueEntry, number>;
  private readonly receipts: Database<StoredReceipt, string>;
  private readonly receiptIndex: Database<true, IndexKey>;
  private readonly meta: Database<number, string>;
  private readonly events = new EventEmitter();

  constructor(directory: string) {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    this.root = open({ path: directory, maxDbs: 16, compression: false });
    this.workers = this.root.openDB({ name: 'workers' });
    this.workerIndex = this.root.openDB({ name: 'worker-index' });
    this.workOrders = this.root.openDB({ name: 'work-orders' });
    this.requests = this.root.openDB({ name: 'work-order-requests' });
    this.queue = this.root.openDB({ name: 'queue' });
    this.receipts = this.root.openDB({ name: 'receipts' });
    this.receiptIndex = this.root.openDB({ name: 'receipt-index' });
    this.meta = this.root.openDB({ name: 'meta' });
    this.events.setMaxListeners(0);
  }

  private emit(event: StoreEvent): void {
    this.events.emit('event', event);
  }

  async putWorker(worker: WorkerRecord): Promise<void> {
    await this.root.transaction(() => {
      const previous = this.workers.get(worker.workerId);
      if (previous) for (const key of workerIndexKeys(previous)) this.workerIndex.removeSync(key);
      this.workers.putSync(worker.workerId, worker);
      for (const key of workerIndexKeys(worker)) this.workerIndex.putSync(key, true);
    });
  }

  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    return this.workers.get(workerId);
  }

  async updateWorker(workerId: string, change: { details?: WorkerDetails; status?: number }): Promise<WorkerRecord | undefined> {
    return this.root.transaction(() => {
      const current = this.workers.get(workerId);
      if (!current) return undefined;
      const updated: WorkerRecord = { ...current };
      if (change.details) updated.details = change.details;
      if (change.status !== undefined) updated.status = change.status;
      this.workers.putSync(workerId, updated);
      return updated;
    });
  }

  async lookUpWorkers(filter: WorkerFilter, after: string | undefined, limit: number): Promise<Page> {
    const conditions: [string, string][] = [];
    if (filter.workerType !== undefined) conditions.push(['type', String(filter.workerType)]);
    if (filter.organizationId !== undefined) conditions.push(['org', canonicalId(filter.organizationId)]);
    if (filter.applicationTypeId !== undefined) conditions.push(['app', canonicalId(filter.applicationTypeId)]);
    return this.page(this.workerIndex, conditions, () => this.workers.getKeys(), after, limit);
  }

  /**
   * Ids matching every condition, in ascending order: the first condition's index range drives the
   * scan, the others are membership checks on their own index.
   */
  private page(index: Database<true, IndexKey>, conditions: [string, string][], allIds: () => Iterable<string>, after: string | undefined, limit: number): Page {
    const [driver, ...others] = conditions;
    const candidates: Iterable<string> = driver
      ? (function* () {
          // Ids are hex, so every [field, value, id] sorts between [field, value] and [field, value, U+FFFF].
          for (const key of index.getKeys({ start: [driver[0], driver[1]], end: [driver[0], driver[1], '\uffff'] })) yield key[2] as string;
        })()
      : allIds();
    let totalCount = 0;
    const ids: string[] = [];
    let more = false;
    for (const id of candidates) {
      if (!others.every(([field, value]) => index.doesExist([field, value, id]))) continue;
      totalCount += 1;
      if (after !== undefined && id <= after) continue;
      if (ids.length < limit) ids.push(id);
      else more = true;
    }
    return { totalCount, ids, nextCursor: more ? (ids[ids.length - 1] ?? '') : '' };
  }

  async submitWorkOrder(order: NewWorkOrder, limits: { maxPending: number }): Promise<SubmitOutcome> {
    const outcome = await this.root.transaction((): SubmitOutcome => {
      if (this.workOrders.doesExist(order.workOrderId)) return 'duplicate';
      const pending = this.meta.get(PENDING_KEY) ?? 0;
      if (pending >= limits.maxPending) return 'busy';
      const queueSeq = (this.meta.get(SEQUENCE_KEY) ?? 0) + 1;
      this.meta.putSync(SEQUENCE_KEY, queueSeq);
      this.meta.putSync(PENDING_KEY, pending + 1);
      const { request, ...state } = order;
      this.requests.putSync(order.workOrderId, request);
      this.workOrders.putSync(order.workOrderId, { ...state, state: 'queued', attempts: 0, queueSeq });
      this.queue.putSync(queueSeq, { workOrderId: order.workOrderId, workerId: order.workerId });
      return 'accepted';
    });
    if (outcome === 'accepted') this.emit({ type: 'submitted', workOrderId: order.workOrderId, workerId: order.workerId });
    return outcome;
  }

  async getWorkOrder(workOrderId: string): Promise<StoredWorkOrder | undefined> {
    const row = this.workOrders.get(workOrderId);
    return row ? this.withRequest(row) : undefined;
  }

  private withRequest(row: WorkOrderRow): StoredWorkOrder {
    const { queueSeq: _place, ...state } = row;
    const request = this.requests.get(row.workOrderId);
    if (!request) throw new Error(`store is inconsistent: work order ${row.workOrderId} has no request`);
    return { ...state, request };
  }

  async claimWorkOrder(owner: string, leaseMs: number, workerIds?: readonly string[]): Promise<StoredWorkOrder | undefined> {
    const allowed = workerIds ? new Set(workerIds) : undefined;
    const claimed = await this.root.transaction(() => {
      for (const { key, value } of this.queue.getRange()) {
        if (allowed && !allowed.has(value.workerId)) continue;
        const row = this.workOrders.get(value.workOrderId);
        this.queue.removeSync(key);
        if (!row || row.state !== 'queued') continue;
        const next: WorkOrderRow = { ...row, state: 'processing', attempts: row.attempts + 1, claimedBy: owner, leaseUntil: Date.now() + leaseMs };
        this.workOrders.putSync(row.workOrderId, next);
        return next;
      }
      return undefined;
    });
    return claimed ? this.withRequest(claimed) : undefined;
  }

  async renewClaim(workOrderId: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.root.transaction(() => {
      const row = this.workOrders.get(workOrderId);
      if (!row || row.state !== 'processing' || row.claimedBy !== owner) return false;
      this.workOrders.putSync(workOrderId, { ...row, leaseUntil: Date.now() + leaseMs });
      return true;
    });
  }

  async finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean> {
    const finished = await this.root.transaction(() => {
      const row = this.workOrders.get(workOrderId);
      if (!row || row.state !== 'processing' || row.claimedBy !== owner) return false;
      const { claimedBy: _owner, leaseUntil: _lease, ...rest } = row;
      const done: WorkOrderRow = { ...rest, state: 'result' in outcome ? 'completed' : 'failed', outcome, finishedAt: Date.now() };
      if (completionUpdate) done.completionUpdate = completionUpdate;
      this.workOrders.putSync(workOrderId, done);
      this.meta.putSync(PENDING_KEY, Math.max(0, (this.meta.get(PENDING_KEY) ?? 1) - 1));
      if (completionUpdate) this.appendInTransaction(workOrderId, completionUpdate);
      return true;
    });
    if (finished) this.emit({ type: 'finished', workOrderId });
    return finished;
  }

  private requeue(row: WorkOrderRow): void {
    const { claimedBy: _owner, leaseUntil: _lease, ...rest } = row;
    this.workOrders.putSync(row.workOrderId, { ...rest, state: 'queued' });
    this.queue.putSync(row.queueSeq, { workOrderId: row.workOrderId, workerId: row.workerId });
  }

  private async releaseWhere(test: (row: WorkOrderRow) => boolean): Promise<number> {
    const released: QueueEntry[] = await this.root.transaction(() => {
      const entries: QueueEntry[] = [];
      for (const { value: row } of this.workOrders.getRange()) {
        if (row.state !== 'processing' || !test(row)) continue;
        this.requeue(row);
        entries.push({ workOrderId: row.workOrderId, workerId: row.workerId });
      }
      return entries;
    });
    for (const entry of released) this.emit({ type: 'submitted', ...entry });
    return released.length;
  }

  releaseExpiredClaims(now: number): Promise<number> {
    return this.releaseWhere((row) => (row.leaseUntil ?? 0) < now);
  }

  releaseClaimsOf(owner: string): Promise<number> {
    return this.releaseWhere((row) => row.claimedBy === owner);
  }

  async pendingCount(): Promise<number> {
    return this.meta.get(PENDING_KEY) ?? 0;
  }

  async createReceipt(receipt: ReceiptCreate): Promise<'created' | 'exists'> {
    const workOrderId = canonicalId(receipt.workOrderId);
    return this.root.transaction(() => {
      if (this.receipts.doesExist(workOrderId)) return 'exists';
      const stored: StoredReceipt = { create: receipt, updates: [], currentStatus: receipt.receiptCreateStatus };
      this.writeReceipt(workOrderId, stored, undefined);
      const update = this.workOrders.get(workOrderId)?.completionUpdate;
      if (update) this.appendInTransaction(workOrderId, update);
      return 'created';
    });
  }

  private writeReceipt(workOrderId: string, receipt: StoredReceipt, previous: StoredReceipt | undefined): void {
    if (previous) for (const key of receiptIndexKeys(workOrderId, previous)) this.receiptIndex.removeSync(key);
    this.receipts.putSync(workOrderId, receipt);
    for (const key of receiptIndexKeys(workOrderId, receipt)) this.receiptIndex.putSync(key, true);
  }

  private appendInTransaction(workOrderId: string, update: ReceiptUpdate): boolean {
    const current = this.receipts.get(workOrderId);
    if (!current) return false;
    this.writeReceipt(workOrderId, { ...current, updates: [...current.updates, update], currentStatus: update.updateType }, current);
    return true;
  }

  async getReceipt(workOrderId: string): Promise<StoredReceipt | undefined> {
    return this.receipts.get(workOrderId);
  }

  async appendReceiptUpdate(workOrderId: string, update: ReceiptUpdate): Promise<'appended' | 'no-receipt'> {
    return (await this.root.transaction(() => this.appendInTransaction(workOrderId, update))) ? 'appended' : 'no-receipt';
  }

  async lookUpReceipts(filter: ReceiptFilter, after: string | undefined, limit: number): Promise<Page> {
    const conditions: [string, string][] = [];
    if (filter.workerServiceId !== undefined) conditions.push(['service', canonicalId(filter.workerServiceId)]);
    if (filter.workerId !== undefined) conditions.push(['worker', canonicalId(filter.workerId)]);
    if (filter.requesterId !== undefined) conditions.push(['requester', canonicalId(filter.requesterId)]);
    if (filter.receiptStatus !== undefined && filter.receiptStatus !== ReceiptStatus.ANY) conditions.push(['status', String(filter.receiptStatus)]);
    return this.page(this.receiptIndex, conditions, () => this.receipts.getKeys(), after, limit);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    await this.root.close();
  }
}
