/**
 * The Store interface: everything a TCS persists (workers, work orders with their queue, receipts)
 * behind one narrow boundary. Two real implementations sit behind it: LMDB (embedded default, one
 * machine) and PostgreSQL (many listeners and managers on one database). Both pass the same
 * conformance suite (test/store/conformance.ts).
 *
 * Ids: every method takes ids in canonical form (protocol/ids.ts canonicalId: lower-case, no 0x);
 * records keep the spelling the requester sent, since hashes cover it verbatim.
 */
import { ReceiptStatus, type RpcErrorObject } from '../protocol/errors.js';
import type { ReceiptCreate, ReceiptUpdate, WorkerDetails, WorkerRecord, WorkOrderRequest, WorkOrderResult } from '../protocol/messages.js';

export type WorkOrderState = 'queued' | 'processing' | 'completed' | 'failed';

/** A finished work order's answer: the signed result, or a spec error (code and message). */
export type WorkOrderOutcome = { result: WorkOrderResult } | { error: RpcErrorObject };

export interface NewWorkOrder {
  workOrderId: string;
  workerId: string;
  requesterId: string;
  request: WorkOrderRequest;
  submittedAt: number;
}

export interface StoredWorkOrder extends NewWorkOrder {
  state: WorkOrderState;
  /** How many times a manager has claimed it (> 1 after a crash or lease expiry). */
  attempts: number;
  /** Set while state is 'processing'. */
  claimedBy?: string;
  leaseUntil?: number;
  outcome?: WorkOrderOutcome;
  /** The worker-signed receipt update for this outcome; appended to the receipt if one exists or is created later. */
  completionUpdate?: ReceiptUpdate;
  finishedAt?: number;
}

/** A claimed work order with its worker's status as the claim saw it, so a manager never runs work for a worker taken out of service. */
export interface ClaimedWorkOrder extends StoredWorkOrder {
  /** Absent when the worker has no record. */
  workerStatus?: number;
}

export type SubmitOutcome = 'accepted' | 'duplicate' | 'busy';

export interface WorkerFilter {
  workerType?: number;
  organizationId?: string;
  applicationTypeId?: string;
}

export interface ReceiptFilter {
  workerServiceId?: string;
  workerId?: string;
  requesterId?: string;
  /** Matches the receipt's current status; 255 (ReceiptStatus.ANY) or absent matches all. */
  receiptStatus?: number;
}

/** One page of ids in ascending canonical order. `nextCursor` is "" on the last page. */
export interface Page {
  totalCount: number;
  ids: string[];
  nextCursor: string;
}

export interface StoredReceipt {
  create: ReceiptCreate;
  updates: ReceiptUpdate[];
  /** The last update's updateType, or receiptCreateStatus when there is none. */
  currentStatus: number;
}

/** One encryption-key announcement of a worker: its nonce and the SHA-256 of its key's SPKI DER. */
export interface KeyAnnouncement {
  nonce: string;
  keyFingerprint: string;
}

/** Why announceEncryptionKey did not install a key; 'changed': the worker's key moved since it was read. */
export type KeyAnnouncementOutcome = 'applied' | 'no-worker' | 'changed' | 'nonce-used' | 'key-used';

export type StoreEvent =
  | { type: 'submitted'; workOrderId: string; workerId: string }
  /** `outcome` is the recorded outcome when the event comes from this process (LMDB), sparing listeners a read. */
  | { type: 'finished'; workOrderId: string; outcome?: WorkOrderOutcome };

export interface Store {
  /** Inserts or replaces a worker. */
  putWorker(worker: WorkerRecord): Promise<void>;
  getWorker(workerId: string): Promise<WorkerRecord | undefined>;
  /** Undefined when the worker does not exist. */
  updateWorker(workerId: string, change: { details?: WorkerDetails; status?: number }): Promise<WorkerRecord | undefined>;
  /**
   * Installs `details` (which carry a newly announced encryption key) in one commit with the worker's key
   * history: only while the worker's current encryptionKeySignature is still `expectedSignature` ('changed'
   * otherwise), and only if neither the nonce nor the key of `fresh` was ever recorded for this worker.
   * Records `fresh` and `retired` (the announcement it replaces; a key registered without one has no
   * nonce), so neither can be installed again. The history outlives putWorker: a re-registration does
   * not make a retired key acceptable again.
   */
  announceEncryptionKey(
    workerId: string,
    change: { expectedSignature: string; fresh: KeyAnnouncement; retired: { nonce?: string; keyFingerprint: string }; details: WorkerDetails },
  ): Promise<KeyAnnouncementOutcome>;
  /** Workers matching every given filter field (applicationTypeId: contained in the worker's list), ids after `after`. */
  lookUpWorkers(filter: WorkerFilter, after: string | undefined, limit: number): Promise<Page>;

  /**
   * Atomically records and enqueues a work order. 'duplicate' when the id exists; 'busy' when
   * `maxPending` work orders are already queued or processing. Nothing is written unless 'accepted'.
   */
  submitWorkOrder(order: NewWorkOrder, limits: { maxPending: number }): Promise<SubmitOutcome>;
  getWorkOrder(workOrderId: string): Promise<StoredWorkOrder | undefined>;
  /**
   * Claims the oldest queued work order (FIFO by submission) for `owner` until now + leaseMs, moving it
   * to 'processing' and incrementing attempts. `workerIds` restricts the claim to those workers. Work
   * orders of a worker whose status is OFF_LINE stay queued, unclaimed, until it is active again; those
   * of a decommissioned or compromised worker are claimed so that their manager fails them. A store
   * may hand out a submission whose commit is still pending (LMDB does); it then refuses that work
   * order's outcome unless the submission was accepted.
   */
  claimWorkOrder(owner: string, leaseMs: number, workerIds?: readonly string[]): Promise<ClaimedWorkOrder | undefined>;
  /** Extends a claim; false when `owner` no longer holds it. */
  renewClaim(workOrderId: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Atomically stores the outcome ('completed' for a result, 'failed' for an error), the completion
   * update (appended to the receipt if one exists), and removes the work order from the queue. False,
   * and nothing written, when `owner` no longer holds the claim: exactly one outcome per work order.
   */
  finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean>;
  /** Puts 'processing' work orders whose lease ended before `now` back in the queue (at their old place). Returns how many. */
  releaseExpiredClaims(now: number): Promise<number>;
  /** Puts every 'processing' work order of `owner` back in the queue: a restarted manager's first act. */
  releaseClaimsOf(owner: string): Promise<number>;
  /** Queued plus processing. */
  pendingCount(): Promise<number>;

  /** 'exists' when the work order already has a receipt. Appends the completion update at once if the work order is finished. */
  createReceipt(receipt: ReceiptCreate): Promise<'created' | 'exists'>;
  getReceipt(workOrderId: string): Promise<StoredReceipt | undefined>;
  /**
   * 'conflict', and nothing written, when `expectedUpdateCount` is given and the receipt no longer has
   * that many updates: the caller checked the update against a receipt that has changed since.
   */
  appendReceiptUpdate(workOrderId: string, update: ReceiptUpdate, expectedUpdateCount?: number): Promise<'appended' | 'no-receipt' | 'conflict'>;
  lookUpReceipts(filter: ReceiptFilter, after: string | undefined, limit: number): Promise<Page>;

  /**
   * Calls `listener` for work submitted (claimable from then on) or finished anywhere that shares this
   * store; returns an unsubscribe function.
   */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Receipt statuses after which a receipt takes no update (spec: COMPLETED and REJECTED close it). The
 * service checks every posted update against its full transition table (service/receipts.ts); the
 * stores check only this, for the one update they append themselves: the worker's completion update,
 * which must not reopen a receipt its requester closed while the work order was still queued.
 */
export const RECEIPT_FINAL_STATUSES: readonly number[] = [ReceiptStatus.COMPLETED, ReceiptStatus.REJECTED];
