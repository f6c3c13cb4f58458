/**
 * The embedded Store on LMDB (lmdb-js): one environment in a directory, with sub-databases for the
 * records, the FIFO queue and the secondary indexes that lookups range-scan. Every durable change runs
 * in one write transaction, and no write call resolves before its transaction is on disk, so a crash
 * right after a call returns loses nothing.
 *
 * An LMDB store serves one node (nodes that share work use PostgreSQL), so claims live in memory: a
 * work order stays queued on disk until its outcome is committed, and a crash simply leaves it queued,
 * at its place, for the restarted node. That makes a work order two commits (submit, finish) instead
 * of three, and a claim costs no disk write. Events are in-process too.
 *
 * A submission is claimable while its commit syncs (see submitWorkOrder), so a worker's compute overlaps
 * the disk's latency; the requester is still answered only once the submission is durable.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { ReceiptStatus, WorkerStatus } from '../protocol/errors.js';
import { canonicalId } from '../protocol/ids.js';
import type { ReceiptCreate, ReceiptUpdate, WorkerDetails, WorkerRecord, WorkOrderRequest } from '../protocol/messages.js';
import {
  RECEIPT_FINAL_STATUSES,
  type ClaimedWorkOrder,
  type KeyAnnouncement,
  type KeyAnnouncementOutcome,
  type NewWorkOrder,
  type Page,
  type ReceiptFilter,
  type Store,
  type StoredReceipt,
  type StoredWorkOrder,
  type StoreEvent,
  type SubmitOutcome,
  type WorkerFilter,
  type WorkOrderOutcome,
} from './store.js';

/** An index entry is [field, value, id]; every id with one field value sits in one key range. */
type IndexKey = [field: string, value: string, id: string];
type IndexCondition = [field: string, value: string];
type QueueKey = number;
type WorkerQueueKey = [workerId: string, queueSeq: number];
/** The claims sub-database of the earlier layout, which kept claims on disk: [leaseUntil, workOrderId] → owner. */
type LegacyLeaseKey = [leaseUntil: number, workOrderId: string];
interface QueueEntry {
  workOrderId: string;
  workerId: string;
}

/**
 * A work order's state as kept on disk, without its request: the request (the bulk of the bytes) is
 * written once at submission in its own sub-database, and the outcome rewrites only this row. On disk a
 * work order is 'queued' until finished; `queueSeq` is its place in the FIFO.
 */
type WorkOrderRow = Omit<StoredWorkOrder, 'request' | 'claimedBy' | 'leaseUntil'> & { queueSeq: number };

interface Claim {
  owner: string;
  leaseUntil: number;
}

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
  private readonly receipts: Database<StoredReceipt, string>;
  private readonly receiptIndex: Database<true, IndexKey>;
  private readonly counters: Database<number, string>;
  /** Every encryption-key nonce and key fingerprint a worker ever announced: [workerId, 'nonce' | 'key', value]. */
  private readonly keyHistory: Database<true, [string, string, string]>;
  private readonly events = new EventEmitter();
  /** The claims in flight, by work order id. */
  private readonly claims = new Map<string, Claim>();
  /**
   * Attempts of unfinished work orders claimed since the store was opened (the row keeps the count
   * as of its last durable write; the outcome records the final count).
   */
  private readonly attempts = new Map<string, number>();
  /**
   * Submissions whose commit is pending, in arrival order: claimable already, so a worker starts on one
   * while its commit syncs. Each leaves this map when its commit body runs; one that is not accepted
   * there never gets a row, so an outcome recorded for it is refused (finishWorkOrder checks the row).
   */
  private readonly staged = new Map<string, NewWorkOrder>();
  /** Decoded worker records: every submission reads one, and only this store writes them. */
  private readonly workerCache = new Map<string, WorkerRecord>();
  /** Writes waiting for the next commit (see commit()). */
  private batch: { body: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];

  constructor(directory: string) {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    // lmdb-js defaults to overlappingSync on Linux, which syncs after a commit returns; here a commit is
    // on disk when transactionSync returns (see commit()).
    this.root = open({ path: directory, maxDbs: 16, compression: false, overlappingSync: false });
    this.workers = this.root.openDB({ name: 'workers' });
    this.workerIndex = this.root.openDB({ name: 'worker-index' });
    this.workOrders = this.root.openDB({ name: 'work-orders' });
    this.requests = this.root.openDB({ name: 'work-order-requests' });
    this.queue = this.root.openDB({ name: 'queue' });
    this.queueByWorker = this.root.openDB({ name: 'queue-by-worker' });
    this.receipts = this.root.openDB({ name: 'receipts' });
    this.receiptIndex = this.root.openDB({ name: 'receipt-index' });
    this.counters = this.root.openDB({ name: 'meta' });
    this.keyHistory = this.root.openDB({ name: 'worker-key-history' });
    this.events.setMaxListeners(0);
    this.requeueLegacyClaims();
  }

  /**
   * A directory written by the earlier layout may hold claims on disk, whose work orders had left the
   * queue: put them back at their place, as a restart would have, and drop that sub-database.
   */
  private requeueLegacyClaims(): void {
    // lmdb-js answers undefined, not a new sub-database, for a missing name with create: false (absent from its typings).
    const options = { name: 'leases', create: false };
    const leases = this.root.openDB<string, LegacyLeaseKey>(options) as Database<string, LegacyLeaseKey> | undefined;
    if (!leases) return;
    this.root.transactionSync(() => {
      for (const { key } of leases.getRange({})) {
        const row = this.workOrders.get(key[1]) as (WorkOrderRow & { state: string; claimedBy?: string; leaseUntil?: number }) | undefined;
        if (row?.state !== 'processing') continue;
        const { claimedBy: _owner, leaseUntil: _lease, ...rest } = row;
        const queued: WorkOrderRow = { ...rest, state: 'queued' };
        this.workOrders.putSync(queued.workOrderId, queued);
        this.enqueue(queued);
      }
      leases.dropSync();
    });
  }

  /**
   * Runs `body` in a write transaction and resolves once that transaction is durable. The writes asked
   * for in one event-loop turn share one commit and its two synchronous disk writes (data, then meta),
   * each as a child transaction, so one that throws undoes only its own changes. Committing on this
   * thread costs the disk's sync latency, but no hand-offs to lmdb-js's write thread and back, which
   * cost more on a busy machine; and while it blocks, the next turn's writes gather into one batch.
   */
  private commit<T>(body: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.batch.length === 0) setImmediate(() => this.commitBatch());
      this.batch.push({ body, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private commitBatch(): void {
    const batch = this.batch;
    this.batch = [];
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    try {
      this.root.transactionSync(() => {
        for (const write of batch) {
          try {
            outcomes.push({ value: this.root.transactionSync(write.body) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      });
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) write.reject(outcome.error);
      else write.resolve(outcome.value);
    });
  }

  private emit(event: StoreEvent): void {
    this.events.emit('event', event);
  }

  async putWorker(worker: WorkerRecord): Promise<void> {
    const workerId = canonicalId(worker.workerId);
    await this.commit(() => {
      const previous = this.workers.get(workerId);
      if (previous) for (const key of workerIndexKeys(previous)) this.workerIndex.removeSync(key);
      this.workers.putSync(workerId, worker);
      for (const key of workerIndexKeys(worker)) this.workerIndex.putSync(key, true);
    });
    this.workerCache.delete(workerId);
  }

  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    const cached = this.workerCache.get(workerId);
    if (cached) return cached;
    const worker = this.workers.get(workerId);
    if (worker) this.workerCache.set(workerId, worker);
    return worker;
  }

  async updateWorker(workerId: string, change: { details?: WorkerDetails; status?: number }): Promise<WorkerRecord | undefined> {
    const updated = await this.commit(() => {
      const current = this.workers.get(workerId);
      if (!current) return undefined;
      const next: WorkerRecord = { ...current };
      if (change.details) next.details = change.details;
      if (change.status !== undefined) next.status = change.status;
      this.workers.putSync(workerId, next);
      return next;
    });
    this.workerCache.delete(workerId);
    return updated;
  }

  async announceEncryptionKey(
    workerId: string,
    change: { expectedSignature: string; fresh: KeyAnnouncement; retired: { nonce?: string; keyFingerprint: string }; details: WorkerDetails },
  ): Promise<KeyAnnouncementOutcome> {
    const outcome = await this.commit((): KeyAnnouncementOutcome => {
      const current = this.workers.get(workerId);
      if (!current) return 'no-worker';
      if (current.details.workerTypeData.encryptionKeySignature !== change.expectedSignature) return 'changed';
      if (this.keyHistory.doesExist([workerId, 'nonce', change.fresh.nonce])) return 'nonce-used';
      if (this.keyHistory.doesExist([workerId, 'key', change.fresh.keyFingerprint])) return 'key-used';
      for (const announcement of [change.retired, change.fresh]) {
        if (announcement.nonce !== undefined) this.keyHistory.putSync([workerId, 'nonce', announcement.nonce], true);
        this.keyHistory.putSync([workerId, 'key', announcement.keyFingerprint], true);
      }
      this.workers.putSync(workerId, { ...current, details: change.details });
      return 'applied';
    });
    this.workerCache.delete(workerId);
    return outcome;
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

  /**
   * Queues the work order in the next commit. One that will be accepted unless the disk fails (a new id,
   * room under `maxPending`) is staged: claimable at once, and announced as 'submitted', while its
   * commit is still to sync. Nothing is acknowledged before the commit: a crash in between loses only
   * a submission nobody was told about, and the outcome of a staged work order commits after its
   * submission (commits run in order), so it can never be recorded without it.
   */
  async submitWorkOrder(order: NewWorkOrder, limits: { maxPending: number }): Promise<SubmitOutcome> {
    const { workOrderId } = order;
    const submitted = this.commit((): SubmitOutcome => {
      this.staged.delete(workOrderId);
      if (this.workOrders.doesExist(workOrderId)) return 'duplicate';
      const pending = this.counters.get(PENDING_KEY) ?? 0;
      if (pending >= limits.maxPending) return 'busy';
      const queueSeq = (this.counters.get(SEQUENCE_KEY) ?? 0) + 1;
      this.counters.putSync(SEQUENCE_KEY, queueSeq);
      this.counters.putSync(PENDING_KEY, pending + 1);
      const { request, ...fields } = order;
      this.requests.putSync(workOrderId, request);
      const row: WorkOrderRow = { ...fields, state: 'queued', attempts: 0, queueSeq };
      this.workOrders.putSync(workOrderId, row);
      this.enqueue(row);
      return 'accepted';
    });
    const stage = !this.staged.has(workOrderId) && !this.workOrders.doesExist(workOrderId) && (this.counters.get(PENDING_KEY) ?? 0) + this.staged.size < limits.maxPending;
    if (stage) {
      this.staged.set(workOrderId, order);
      this.emit({ type: 'submitted', workOrderId, workerId: order.workerId });
    }
    const outcome = await submitted.catch((error: unknown) => {
      if (stage) this.forgetClaim(workOrderId);
      throw error;
    });
    if (outcome !== 'accepted' && stage) this.forgetClaim(workOrderId);
    if (outcome === 'accepted' && !stage) this.emit({ type: 'submitted', workOrderId, workerId: order.workerId });
    return outcome;
  }

  /** Drops what a claim left in memory, for a staged submission that was not accepted after all. */
  private forgetClaim(workOrderId: string): void {
    this.claims.delete(workOrderId);
    this.attempts.delete(workOrderId);
  }

  async getWorkOrder(workOrderId: string): Promise<StoredWorkOrder | undefined> {
    const row = this.workOrders.get(workOrderId);
    return row ? this.withRequest(row) : undefined;
  }

  /** The row as callers see it: with its request, and with the in-memory claim and attempts of an unfinished one. */
  private withRequest({ queueSeq: _place, ...fields }: WorkOrderRow): StoredWorkOrder {
    const request = this.requests.get(fields.workOrderId);
    if (!request) throw new Error(`store is inconsistent: work order ${fields.workOrderId} has no request`);
    const order: StoredWorkOrder = { ...fields, request };
    if (order.state !== 'queued') return order;
    order.attempts = this.attempts.get(order.workOrderId) ?? order.attempts;
    const claim = this.claims.get(order.workOrderId);
    if (claim) Object.assign(order, { state: 'processing', claimedBy: claim.owner, leaseUntil: claim.leaseUntil });
    return order;
  }

  private enqueue(row: WorkOrderRow): void {
    this.queue.putSync(row.queueSeq, { workOrderId: row.workOrderId, workerId: row.workerId });
    this.queueByWorker.putSync([row.workerId, row.queueSeq], row.workOrderId);
  }

  private dequeue(row: WorkOrderRow): void {
    this.queue.removeSync(row.queueSeq);
    this.queueByWorker.removeSync([row.workerId, row.queueSeq]);
  }

  /**
   * The oldest queued work order nobody has claimed: from the queue's head, or the earliest such entry
   * among the named workers' queues. Claimed entries are skipped; there are at most as many as lanes.
   */
  private oldestUnclaimed(workerIds: readonly string[] | undefined): string | undefined {
    const claimable = workerIds?.filter((workerId) => this.workerTakesWork(workerId));
    return this.oldestUnclaimedQueued(claimable) ?? this.oldestUnclaimedStaged(claimable);
  }

  /** An OFF_LINE worker's queue waits for it; every other status is claimed (see Store.claimWorkOrder). */
  private workerTakesWork(workerId: string): boolean {
    return this.workerStatus(workerId) !== WorkerStatus.OFF_LINE;
  }

  private workerStatus(workerId: string): number | undefined {
    return (this.workerCache.get(workerId) ?? this.workers.get(workerId))?.status;
  }

  /** Staged submissions come after every queued one: their commits run after those that queued them. */
  private oldestUnclaimedStaged(workerIds: readonly string[] | undefined): string | undefined {
    for (const [workOrderId, row] of this.staged) {
      if (this.claims.has(workOrderId)) continue;
      if (workerIds ? workerIds.includes(row.workerId) : this.workerTakesWork(row.workerId)) return workOrderId;
    }
    return undefined;
  }

  private oldestUnclaimedQueued(workerIds: readonly string[] | undefined): string | undefined {
    if (!workerIds) {
      for (const { value } of this.queue.getRange({})) if (!this.claims.has(value.workOrderId) && this.workerTakesWork(value.workerId)) return value.workOrderId;
      return undefined;
    }
    let oldest: { queueSeq: number; workOrderId: string } | undefined;
    for (const workerId of new Set(workerIds)) {
      for (const { key, value } of this.queueByWorker.getRange({ start: [workerId], end: [workerId, Number.MAX_SAFE_INTEGER] })) {
        if (this.claims.has(value)) continue;
        if (!oldest || key[1] < oldest.queueSeq) oldest = { queueSeq: key[1], workOrderId: value };
        break;
      }
    }
    return oldest?.workOrderId;
  }

  async claimWorkOrder(owner: string, leaseMs: number, workerIds?: readonly string[]): Promise<ClaimedWorkOrder | undefined> {
    const workOrderId = this.oldestUnclaimed(workerIds);
    if (workOrderId === undefined) return undefined;
    const staged = this.staged.get(workOrderId);
    const row = staged ? undefined : this.workOrders.get(workOrderId);
    if (!staged && row?.state !== 'queued') return undefined;
    const leaseUntil = Date.now() + leaseMs;
    const attempts = (this.attempts.get(workOrderId) ?? row?.attempts ?? 0) + 1;
    this.claims.set(workOrderId, { owner, leaseUntil });
    this.attempts.set(workOrderId, attempts);
    const order: StoredWorkOrder = staged ? { ...staged, state: 'processing', attempts, claimedBy: owner, leaseUntil } : this.withRequest(row!);
    const workerStatus = this.workerStatus(order.workerId);
    return workerStatus === undefined ? order : { ...order, workerStatus };
  }

  async renewClaim(workOrderId: string, owner: string, leaseMs: number): Promise<boolean> {
    const claim = this.claims.get(workOrderId);
    if (claim?.owner !== owner) return false;
    claim.leaseUntil = Date.now() + leaseMs;
    return true;
  }

  /**
   * One commit: the outcome, off the queue, the pending count, the receipt. The claim is checked in
   * memory and the row on disk must still be unfinished, so racing finishes store one outcome.
   */
  async finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean> {
    const finished = await this.commit(() => {
      if (this.claims.get(workOrderId)?.owner !== owner) return false;
      const row = this.workOrders.get(workOrderId);
      if (row?.state !== 'queued') return false;
      const done: WorkOrderRow = {
        ...row,
        state: 'result' in outcome ? 'completed' : 'failed',
        attempts: this.attempts.get(workOrderId) ?? row.attempts,
        outcome,
        finishedAt: Date.now(),
      };
      if (completionUpdate) done.completionUpdate = completionUpdate;
      this.workOrders.putSync(workOrderId, done);
      this.dequeue(row);
      this.counters.putSync(PENDING_KEY, Math.max(0, (this.counters.get(PENDING_KEY) ?? 1) - 1));
      if (completionUpdate) this.appendCompletionInTransaction(workOrderId, completionUpdate);
      return true;
    });
    if (finished) {
      // Dropped once committed: until then the claim keeps other lanes off the entry still on disk.
      this.claims.delete(workOrderId);
      this.attempts.delete(workOrderId);
      this.emit({ type: 'finished', workOrderId, outcome });
    }
    return finished;
  }

  /** Drops the claims that `select` picks; their work orders never left the queue. Emits 'submitted' so managers wake. */
  private async release(select: (claim: Claim) => boolean): Promise<number> {
    const released: QueueEntry[] = [];
    for (const [workOrderId, claim] of this.claims) {
      if (!select(claim)) continue;
      this.claims.delete(workOrderId);
      const row = this.staged.get(workOrderId) ?? this.workOrders.get(workOrderId);
      if (row) released.push({ workOrderId, workerId: row.workerId });
    }
    for (const entry of released) this.emit({ type: 'submitted', ...entry });
    return released.length;
  }

  releaseExpiredClaims(now: number): Promise<number> {
    return this.release((claim) => claim.leaseUntil < now);
  }

  releaseClaimsOf(owner: string): Promise<number> {
    return this.release((claim) => claim.owner === owner);
  }

  async pendingCount(): Promise<number> {
    return this.counters.get(PENDING_KEY) ?? 0;
  }

  async createReceipt(receipt: ReceiptCreate): Promise<'created' | 'exists'> {
    const workOrderId = canonicalId(receipt.workOrderId);
    return this.commit(() => {
      if (this.receipts.doesExist(workOrderId)) return 'exists';
      this.writeReceipt(workOrderId, { create: receipt, updates: [], currentStatus: receipt.receiptCreateStatus }, undefined);
      const update = this.workOrders.get(workOrderId)?.completionUpdate;
      if (update) this.appendCompletionInTransaction(workOrderId, update);
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

  /** The worker's completion update, unless the requester has already closed the receipt (see RECEIPT_FINAL_STATUSES). */
  private appendCompletionInTransaction(workOrderId: string, update: ReceiptUpdate): void {
    const current = this.receipts.get(workOrderId);
    if (current && !RECEIPT_FINAL_STATUSES.includes(current.currentStatus)) this.appendInTransaction(workOrderId, update);
  }

  async getReceipt(workOrderId: string): Promise<StoredReceipt | undefined> {
    return this.receipts.get(workOrderId);
  }

  async appendReceiptUpdate(workOrderId: string, update: ReceiptUpdate, expectedUpdateCount?: number): Promise<'appended' | 'no-receipt' | 'conflict'> {
    return this.commit(() => {
      const current = this.receipts.get(workOrderId);
      if (!current) return 'no-receipt';
      if (expectedUpdateCount !== undefined && current.updates.length !== expectedUpdateCount) return 'conflict';
      this.appendInTransaction(workOrderId, update);
      return 'appended';
    });
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
    if (this.batch.length > 0) this.commitBatch();
    this.events.removeAllListeners();
    this.claims.clear();
    await this.root.close();
  }
}
