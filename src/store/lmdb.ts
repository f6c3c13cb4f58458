/**
 * The embedded Store on LMDB (lmdb-js): one environment in a directory, with sub-databases for the
 * records, the FIFO queue, the claims in flight and the secondary indexes that lookups range-scan.
 * Every state change runs in one write transaction, and the environment commits synchronously
 * (fsync before the transaction's promise resolves), so a crash right after a call returns loses
 * nothing. Events are in-process: an LMDB store serves one node; nodes that share work use PostgreSQL.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { ReceiptStatus } from '../protocol/errors.js';
import { canonicalId } from '../protocol/ids.js';
import type { ReceiptCreate, ReceiptUpdate, WorkerDetails, WorkerRecord, WorkOrderRequest } from '../protocol/messages.js';
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

/** An index entry is [field, value, id]; every id with one field value sits in one key range. */
type IndexKey = [field: string, value: string, id: string];
type IndexCondition = [field: string, value: string];
type QueueKey = number;
type WorkerQueueKey = [workerId: string, queueSeq: number];
type LeaseKey = [leaseUntil: number, workOrderId: string];
interface QueueEntry {
  workOrderId: string;
  workerId: string;
}

/**
 * A work order's state as kept on disk, without its request: the request (the bulk of the bytes) is
 * written once at submission in its own sub-database, and claims and outcomes rewrite only this row.
 * `queueSeq` is its place in the FIFO, kept through claims so that a release puts it back there.
 */
type WorkOrderRow = Omit<StoredWorkOrder, 'request'> & { queueSeq: number };

const PENDING_KEY = 'pending';
const SEQUENCE_KEY = 'sequence';
/** Ids are hex, so U+FFFF sorts after every id that can follow a [field, value] prefix. */
const AFTER_EVERY_ID = '\uffff';

function workerIndexKeys(worker: WorkerRecord): IndexKey[] {
  const workerId = canonicalId(worker.workerId);
  return [
    ['type', String(worker.workerType), workerId],
    ['org', canonicalId(worker.organizationId), workerId],
    ...worker.applicationTypeId.map((app): IndexKey => ['app', canonicalId(app), workerId]),
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

function indexRange([field, value]: IndexCondition, after?: string): { start: IndexKey | IndexCondition; end: IndexKey } {
  return { start: after === undefined ? [field, value] : [field, value, after], end: [field, value, AFTER_EVERY_ID] };
}

export class LmdbStore implements Store {
  private readonly root: RootDatabase;
  private readonly workers: Database<WorkerRecord, string>;
  private readonly workerIndex: Database<true, IndexKey>;
  private readonly workOrders: Database<WorkOrderRow, string>;
  private readonly requests: Database<WorkOrderRequest, string>;
  private readonly queue: Database<QueueEntry, QueueKey>;
  private readonly queueByWorker: Database<string, WorkerQueueKey>;
  /** The claims in flight, ordered by lease end so that expiry is a range scan; the value is the owner. */
  private readonly leases: Database<string, LeaseKey>;
  private readonly receipts: Database<StoredReceipt, string>;
  private readonly receiptIndex: Database<true, IndexKey>;
  private readonly counters: Database<number, string>;
  private readonly events = new EventEmitter();

  constructor(directory: string) {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    // lmdb-js defaults to overlappingSync on Linux, which resolves a write once it is visible and
    // fsyncs later; the Store promises durability at resolution, so commits sync in place.
    this.root = open({ path: directory, maxDbs: 16, compression: false, overlappingSync: false });
    this.workers = this.root.openDB({ name: 'workers' });
    this.workerIndex = this.root.openDB({ name: 'worker-index' });
    this.workOrders = this.root.openDB({ name: 'work-orders' });
    this.requests = this.root.openDB({ name: 'work-order-requests' });
    this.queue = this.root.openDB({ name: 'queue' });
    this.queueByWorker = this.root.openDB({ name: 'queue-by-worker' });
    this.leases = this.root.openDB({ name: 'leases' });
    this.receipts = this.root.openDB({ name: 'receipts' });
    this.receiptIndex = this.root.openDB({ name: 'receipt-index' });
    this.counters = this.root.openDB({ name: 'meta' });
    this.events.setMaxListeners(0);
  }

  private emit(event: StoreEvent): void {
    this.events.emit('event', event);
  }

  async putWorker(worker: WorkerRecord): Promise<void> {
    const workerId = canonicalId(worker.workerId);
    await this.root.transaction(() => {
      const previous = this.workers.get(workerId);
      if (previous) for (const key of workerIndexKeys(previous)) this.workerIndex.removeSync(key);
      this.workers.putSync(workerId, worker);
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
    const conditions: IndexCondition[] = [];
    if (filter.workerType !== undefined) conditions.push(['type', String(filter.workerType)]);
    if (filter.organizationId !== undefined) conditions.push(['org', canonicalId(filter.organizationId)]);
    if (filter.applicationTypeId !== undefined) conditions.push(['app', canonicalId(filter.applicationTypeId)]);
    return this.page(this.workerIndex, conditions, this.workers, after, limit);
  }

  /**
   * Ids matching every condition, ascending. The condition with the fewest entries drives the scan
   * and the others are point lookups in the same index. A single condition (the common case) is
   * counted natively and read from the cursor on; with several, the count needs the whole driver range.
   */
  private page(index: Database<true, IndexKey>, conditions: IndexCondition[], records: Database<unknown, string>, after: string | undefined, limit: number): Page {
    const ids: string[] = [];
    let more = false;
    const take = (id: string): boolean => {
      if (after !== undefined && id <= after) return true;
      if (ids.length === limit) {
        more = true;
        return false;
      }
      ids.push(id);
      return true;
    };
    const finish = (totalCount: number): Page => ({ totalCount, ids, nextCursor: more ? (ids[ids.length - 1] ?? '') : '' });

    const [driver, ...others] = conditions
      .map((condition) => ({ condition, count: index.getKeysCount(indexRange(condition)) }))
      .sort((a, b) => a.count - b.count);
    if (!driver) {
      for (const id of records.getKeys(after === undefined ? {} : { start: after })) if (!take(id)) break;
      return finish(records.getKeysCount());
    }
    if (others.length === 0) {
      for (const key of index.getKeys(indexRange(driver.condition, after))) if (!take(key[2])) break;
      return finish(driver.count);
    }
    let totalCount = 0;
    for (const [, , id] of index.getKeys(indexRange(driver.condition))) {
      if (!others.every(({ condition: [field, value] }) => index.doesExist([field, value, id]))) continue;
      totalCount += 1;
      take(id);
    }
    return finish(totalCount);
  }

  async submitWorkOrder(order: NewWorkOrder, limits: { maxPending: number }): Promise<SubmitOutcome> {
    const outcome = await this.root.transaction((): SubmitOutcome => {
      if (this.workOrders.doesExist(order.workOrderId)) return 'duplicate';
      const pending = this.counters.get(PENDING_KEY) ?? 0;
      if (pending >= limits.maxPending) return 'busy';
      const queueSeq = (this.counters.get(SEQUENCE_KEY) ?? 0) + 1;
      this.counters.putSync(SEQUENCE_KEY, queueSeq);
      this.counters.putSync(PENDING_KEY, pending + 1);
      const { request, ...fields } = order;
      this.requests.putSync(order.workOrderId, request);
      const row: WorkOrderRow = { ...fields, state: 'queued', attempts: 0, queueSeq };
      this.workOrders.putSync(order.workOrderId, row);
      this.enqueue(row);
      return 'accepted';
    });
    if (outcome === 'accepted') this.emit({ type: 'submitted', workOrderId: order.workOrderId, workerId: order.workerId });
    return outcome;
  }

  async getWorkOrder(workOrderId: string): Promise<StoredWorkOrder | undefined> {
    const row = this.workOrders.get(workOrderId);
    return row ? this.withRequest(row) : undefined;
  }

  private withRequest({ queueSeq: _place, ...fields }: WorkOrderRow): StoredWorkOrder {
    const request = this.requests.get(fields.workOrderId);
    if (!request) throw new Error(`store is inconsistent: work order ${fields.workOrderId} has no request`);
    return { ...fields, request };
  }

  private enqueue(row: WorkOrderRow): void {
    this.queue.putSync(row.queueSeq, { workOrderId: row.workOrderId, workerId: row.workerId });
    this.queueByWorker.putSync([row.workerId, row.queueSeq], row.workOrderId);
  }

  private dequeue(row: WorkOrderRow): void {
    this.queue.removeSync(row.queueSeq);
    this.queueByWorker.removeSync([row.workerId, row.queueSeq]);
  }

  /** The oldest queued work order: the queue's head, or the earliest head among the named workers' queues. */
  private oldestQueued(workerIds: readonly string[] | undefined): string | undefined {
    if (!workerIds) {
      for (const { value } of this.queue.getRange({ limit: 1 })) return value.workOrderId;
      return undefined;
    }
    let oldest: { queueSeq: number; workOrderId: string } | undefined;
    for (const workerId of new Set(workerIds)) {
      for (const { key, value } of this.queueByWorker.getRange({ start: [workerId], end: [workerId, Number.MAX_SAFE_INTEGER], limit: 1 })) {
        if (!oldest || key[1] < oldest.queueSeq) oldest = { queueSeq: key[1], workOrderId: value };
      }
    }
    return oldest?.workOrderId;
  }

  async claimWorkOrder(owner: string, leaseMs: number, workerIds?: readonly string[]): Promise<StoredWorkOrder | undefined> {
    const claimed = await this.root.transaction(() => {
      const workOrderId = this.oldestQueued(workerIds);
      const row = workOrderId === undefined ? undefined : this.workOrders.get(workOrderId);
      if (!row) return undefined;
      this.dequeue(row);
      const leaseUntil = Date.now() + leaseMs;
      const next: WorkOrderRow = { ...row, state: 'processing', attempts: row.attempts + 1, claimedBy: owner, leaseUntil };
      this.workOrders.putSync(row.workOrderId, next);
      this.leases.putSync([leaseUntil, row.workOrderId], owner);
      return next;
    });
    return claimed ? this.withRequest(claimed) : undefined;
  }

  /** The row while `owner` holds its claim, else undefined. */
  private heldBy(workOrderId: string, owner: string): (WorkOrderRow & { claimedBy: string; leaseUntil: number }) | undefined {
    const row = this.workOrders.get(workOrderId);
    if (!row || row.state !== 'processing' || row.claimedBy !== owner || row.leaseUntil === undefined) return undefined;
    return { ...row, claimedBy: row.claimedBy, leaseUntil: row.leaseUntil };
  }

  async renewClaim(workOrderId: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.root.transaction(() => {
      const row = this.heldBy(workOrderId, owner);
      if (!row) return false;
      const leaseUntil = Date.now() + leaseMs;
      this.leases.removeSync([row.leaseUntil, workOrderId]);
      this.leases.putSync([leaseUntil, workOrderId], owner);
      this.workOrders.putSync(workOrderId, { ...row, leaseUntil });
      return true;
    });
  }

  async finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean> {
    const finished = await this.root.transaction(() => {
      const row = this.heldBy(workOrderId, owner);
      if (!row) return false;
      const { claimedBy: _owner, leaseUntil, ...rest } = row;
      const done: WorkOrderRow = { ...rest, state: 'result' in outcome ? 'completed' : 'failed', outcome, finishedAt: Date.now() };
      if (completionUpdate) done.completionUpdate = completionUpdate;
      this.workOrders.putSync(workOrderId, done);
      this.leases.removeSync([leaseUntil, workOrderId]);
      this.counters.putSync(PENDING_KEY, Math.max(0, (this.counters.get(PENDING_KEY) ?? 1) - 1));
      if (completionUpdate) this.appendInTransaction(workOrderId, completionUpdate);
      return true;
    });
    if (finished) this.emit({ type: 'finished', workOrderId });
    return finished;
  }

  /** Requeues the leased work orders that `select` picks from the claims in flight; emits 'submitted' so managers wake. */
  private async release(select: (lease: { key: LeaseKey; value: string }) => boolean, range: { end?: [leaseEndsBefore: number] } = {}): Promise<number> {
    const released = await this.root.transaction(() => {
      const chosen = [...this.leases.getRange(range)].filter(select);
      const entries: QueueEntry[] = [];
      for (const { key } of chosen) {
        const row = this.workOrders.get(key[1]);
        if (!row) continue;
        this.leases.removeSync(key);
        const { claimedBy: _owner, leaseUntil: _lease, ...rest } = row;
        const queued: WorkOrderRow = { ...rest, state: 'queued' };
        this.workOrders.putSync(row.workOrderId, queued);
        this.enqueue(queued);
        entries.push({ workOrderId: row.workOrderId, workerId: row.workerId });
      }
      return entries;
    });
    for (const entry of released) this.emit({ type: 'submitted', ...entry });
    return released.length;
  }

  releaseExpiredClaims(now: number): Promise<number> {
    return this.release(() => true, { end: [now] });
  }

  releaseClaimsOf(owner: string): Promise<number> {
    return this.release(({ value }) => value === owner);
  }

  async pendingCount(): Promise<number> {
    return this.counters.get(PENDING_KEY) ?? 0;
  }

  async createReceipt(receipt: ReceiptCreate): Promise<'created' | 'exists'> {
    const workOrderId = canonicalId(receipt.workOrderId);
    return this.root.transaction(() => {
      if (this.receipts.doesExist(workOrderId)) return 'exists';
      this.writeReceipt(workOrderId, { create: receipt, updates: [], currentStatus: receipt.receiptCreateStatus }, undefined);
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
    const conditions: IndexCondition[] = [];
    if (filter.workerServiceId !== undefined) conditions.push(['service', canonicalId(filter.workerServiceId)]);
    if (filter.workerId !== undefined) conditions.push(['worker', canonicalId(filter.workerId)]);
    if (filter.requesterId !== undefined) conditions.push(['requester', canonicalId(filter.requesterId)]);
    if (filter.receiptStatus !== undefined && filter.receiptStatus !== ReceiptStatus.ANY) conditions.push(['status', String(filter.receiptStatus)]);
    return this.page(this.receiptIndex, conditions, this.receipts, after, limit);
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
