/**
 * The Trusted Compute Service's application logic: one handler per direct-model method over the
 * Store. Transports (the HTTP listener today, ledger connectors later) hand it checked calls and get
 * back a result or a spec error; it knows nothing of HTTP. Work orders are accepted here and executed
 * by the enclave manager, which may run in another process sharing the store.
 */
import type { HashingAlgorithm } from '../crypto/primitives.js';
import { checkRequesterSignature } from '../workorder/worker.js';
import { ErrorCode, TcfError, WorkerStatus, invalidParameter, type RpcErrorObject } from '../protocol/errors.js';
import { workOrderRequestHash } from '../protocol/hashing.js';
import { canonicalId } from '../protocol/ids.js';
import { Histogram } from '../metrics/index.js';
import type { LookUpResult, MethodParams, WorkerRetrieveResult, WorkOrderResult } from '../protocol/messages.js';
import type { CheckedCall } from '../protocol/rpc.js';
import type { Store, StoredWorkOrder, WorkerFilter, WorkOrderOutcome } from '../store/store.js';
import { applyEncryptionKeySet, encryptionKeyGet } from './keys.js';
import { receiptCreate, receiptLookUp, receiptRetrieve, receiptUpdate, receiptUpdateRetrieve, type ReceiptPolicy } from './receipts.js';

export interface ServiceOptions {
  maxPendingWorkOrders: number;
  /** See NodeConfig.listener.requesterRatePerSecond and requesterBurst. */
  requesterRatePerSecond?: number;
  requesterBurst?: number;
  /** See NodeConfig.listener.notifyUriPrefixes. */
  notifyUriPrefixes: readonly string[];
  /** Sends a completion notice; failures are the caller's to log (requesters can always poll). */
  notify?: (uri: string, workOrderId: string) => Promise<void>;
  maxSyncWaitMs: number;
  lookUpPageSize: number;
  requesterKeyBinding: 'bound' | 'unbound';
  requireRequesterSignature: boolean;
}

/** What a handler answers: a result, or an error object (code 0 is the spec's generic success). */
export type Answer = { result: unknown } | { error: RpcErrorObject };

export interface CallContext {
  /** True when the caller proved it is the node's operator (listener: bearer token). */
  operator: boolean;
  /** The caller's network address as the listener saw it ('' when unknown): what rate limits key on. */
  client?: string;
}

/**
 * Operator-only over JSON-RPC. EncryptionKeySet is among them: a worker's own rotation is made by its
 * node's manager, which installs the key directly (applyEncryptionKeySet), so a call from outside has
 * no legitimate author but the operator; an announcement, public through EncryptionKeyGet, cannot be
 * replayed by anyone else.
 */
const ADMIN_METHODS = new Set(['WorkerRegister', 'WorkerUpdate', 'WorkerSetStatus', 'EncryptionKeySet']);

export const PENDING_MESSAGE = 'Work order is computing. Please query for WorkOrderGetResult to view the result';

function generic(message: string): Answer {
  return { error: { code: ErrorCode.SUCCESS, message } };
}

function outcomeAnswer(order: StoredWorkOrder): Answer {
  const outcome = order.outcome;
  if (!outcome) {
    return {
      error: { code: ErrorCode.PENDING, message: PENDING_MESSAGE, data: { workOrderId: order.request.workOrderId, state: order.state } },
    };
  }
  return 'result' in outcome ? { result: outcome.result satisfies WorkOrderResult } : { error: outcome.error };
}

/** Wakes a synchronous submission; `outcome` when the store's event carried it. */
type Waker = (outcome?: WorkOrderOutcome) => void;

export class TcsService {
  private readonly waiters = new Map<string, Set<Waker>>();
  /** Work orders accepted here with a notifyUri, by canonical id: notified once when they finish. */
  private readonly notifyUris = new Map<string, string>();
  private readonly unsubscribe: () => void;
  private readonly receiptPolicy: ReceiptPolicy;
  private readonly rateLimiter: RequesterRateLimiter | undefined;
  private readonly submissionCommits = new Histogram('tcf_submission_commit_seconds', 'Time to record a submitted work order durably in the store before acknowledging it (on LMDB its worker may start meanwhile).');

  constructor(
    private readonly store: Store,
    private readonly options: ServiceOptions,
  ) {
    this.receiptPolicy = { requesterKeyBinding: options.requesterKeyBinding, lookUpPageSize: options.lookUpPageSize };
    if (options.requesterRatePerSecond) this.rateLimiter = new RequesterRateLimiter(options.requesterRatePerSecond, options.requesterBurst ?? options.requesterRatePerSecond);
    this.unsubscribe = store.subscribe((event) => {
      if (event.type !== 'finished') return;
      const notifyUri = this.notifyUris.get(event.workOrderId);
      if (notifyUri !== undefined && options.notify) {
        this.notifyUris.delete(event.workOrderId);
        void options.notify(notifyUri, event.workOrderId).catch(() => undefined);
      }
      const waiting = this.waiters.get(event.workOrderId);
      if (!waiting) return;
      this.waiters.delete(event.workOrderId);
      for (const wake of waiting) wake(event.outcome);
    });
  }

  /** The service's figures in the Prometheus text format, for the node's GET /metrics. */
  metricLines(): string[] {
    return this.submissionCommits.lines();
  }

  close(): void {
    this.unsubscribe();
    for (const waiting of this.waiters.values()) for (const wake of waiting) wake();
    this.waiters.clear();
  }

  /** Answers one checked call; a TcfError from any layer becomes its spec error. */
  async call(call: CheckedCall, context: CallContext): Promise<Answer> {
    if (ADMIN_METHODS.has(call.method) && !context.operator) {
      return { error: { code: ErrorCode.ACCESS_DENIED, message: `${call.method} is an operator method: authenticate with the node's operator token` } };
    }
    try {
      return await this.dispatch(call, context);
    } catch (error) {
      if (error instanceof TcfError) return { error: error.toRpcError() };
      throw error;
    }
  }

  private async dispatch(call: CheckedCall, context: CallContext): Promise<Answer> {
    switch (call.method) {
      case 'WorkerRegister': {
        const workerId = canonicalId(call.params.workerId);
        // A re-registration replaces keys and details but not the status: only WorkerSetStatus changes it.
        const status = (await this.store.getWorker(workerId))?.status ?? WorkerStatus.ACTIVE;
        await this.store.putWorker({ ...call.params, workerId, status });
        return generic('Worker registered successfully');
      }
      case 'WorkerUpdate':
        if (!(await this.store.updateWorker(canonicalId(call.params.workerId), { details: call.params.details }))) throw unknownWorker(call.params.workerId);
        return generic('Worker updated successfully');
      case 'WorkerSetStatus':
        if (!(await this.store.updateWorker(canonicalId(call.params.workerId), { status: call.params.status }))) throw unknownWorker(call.params.workerId);
        return generic('Worker status updated successfully');
      case 'WorkerLookUp':
        return { result: await this.lookUpWorkers(call.params, undefined) };
      case 'WorkerLookUpNext':
        return { result: await this.lookUpWorkers(call.params, call.params.lookUpTag) };
      case 'WorkerRetrieve':
        return { result: await this.retrieveWorker(call.params.workerId) };
      case 'WorkOrderSubmit':
        return this.submit(call.params, context);
      case 'WorkOrderGetResult': {
        const order = await this.store.getWorkOrder(canonicalId(call.params.workOrderId));
        if (!order) throw invalidParameter('params.workOrderId', `work order ${call.params.workOrderId} does not exist`);
        return outcomeAnswer(order);
      }
      case 'WorkOrderReceiptCreate':
        await receiptCreate(this.store, this.receiptPolicy, call.params);
        return generic('Receipt created successfully');
      case 'WorkOrderReceiptUpdate':
        await receiptUpdate(this.store, this.receiptPolicy, call.params);
        return generic('Receipt updated successfully');
      case 'WorkOrderReceiptRetrieve':
        return { result: await receiptRetrieve(this.store, call.params) };
      case 'WorkOrderReceiptUpdateRetrieve':
        return { result: await receiptUpdateRetrieve(this.store, call.params) };
      case 'WorkOrderReceiptLookUp':
        return { result: await receiptLookUp(this.store, this.receiptPolicy, call.params) };
      case 'WorkOrderReceiptLookUpNext':
        return { result: await receiptLookUp(this.store, this.receiptPolicy, call.params) };
      case 'EncryptionKeyGet':
        return { result: await encryptionKeyGet(this.store, call.params) };
      case 'EncryptionKeySet':
        await applyEncryptionKeySet(this.store, call.params);
        return generic('Encryption key set successfully');
    }
  }

  private async lookUpWorkers(params: MethodParams<'WorkerLookUp'>, after: string | undefined): Promise<LookUpResult> {
    const filter: WorkerFilter = {};
    if (params.workerType !== undefined) filter.workerType = params.workerType;
    if (params.organizationId !== undefined) filter.organizationId = canonicalId(params.organizationId);
    if (params.applicationTypeId !== undefined) filter.applicationTypeId = canonicalId(params.applicationTypeId);
    const page = await this.store.lookUpWorkers(filter, after, this.options.lookUpPageSize);
    return { totalCount: page.totalCount, lookupTag: page.nextCursor, ids: page.ids };
  }

  private async retrieveWorker(workerId: string): Promise<WorkerRetrieveResult> {
    const worker = await this.store.getWorker(canonicalId(workerId));
    if (!worker) throw unknownWorker(workerId);
    return {
      workerType: worker.workerType,
      organizationId: worker.organizationId,
      applicationTypeId: worker.applicationTypeId,
      details: worker.details,
      status: worker.status,
    };
  }

  /**
   * Accepts a work order: the worker must exist and be active, and a requester signature (computable
   * from public fields) is checked here already, so a forged request is refused before it is stored.
   * Then the result is awaited for up to responseTimeoutMSecs; past that the answer is PENDING.
   */
  private async submit(params: MethodParams<'WorkOrderSubmit'>, context: CallContext): Promise<Answer> {
    const workerId = canonicalId(params.workerId);
    const worker = await this.store.getWorker(workerId);
    if (!worker) throw invalidParameter('params.workerId', `worker ${params.workerId} does not exist`);
    if (worker.status !== WorkerStatus.ACTIVE) throw invalidParameter('params.workerId', `worker ${params.workerId} is not active (status ${worker.status})`);
    checkRequesterSignature(params, () => workOrderRequestHash(params, worker.details.hashingAlgorithm as HashingAlgorithm), {
      requireRequesterSignature: this.options.requireRequesterSignature || worker.details.requesterSignaturePolicy === 'required',
      requesterKeyBinding: this.options.requesterKeyBinding,
    });
    if (params.notifyUri && !notifyUriAllowed(params.notifyUri, this.options.notifyUriPrefixes)) {
      throw invalidParameter('params.notifyUri', 'this TCS only notifies URIs its operator allowed (listener.notifyUriPrefixes); poll WorkOrderGetResult instead');
    }
    if (this.rateLimiter) {
      // A requesterId is whatever the caller writes unless a signature under the bound key binding proves
      // it (the id is then the hash of the key that signed). An unproven id would let one client spread
      // its work orders over as many buckets as it invents ids, so such a request counts against the
      // client's address instead.
      const proven = Boolean(params.requesterSignature) && this.options.requesterKeyBinding === 'bound';
      const bucket = proven ? `requester ${canonicalId(params.requesterId)}` : `address ${context.client ?? ''}`;
      if (!this.rateLimiter.take(bucket)) {
        const who = proven ? `requester ${params.requesterId}` : 'this client address (unsigned work orders are limited by address)';
        throw new TcfError(ErrorCode.BUSY, `${who} is over its limit of ${this.options.requesterRatePerSecond} work orders per second; retry later`, { workOrderId: params.workOrderId });
      }
    }
    const workOrderId = canonicalId(params.workOrderId);
    // Only the submission that creates a work order names where its notice goes: a resubmission of the
    // same id (refused as a duplicate) must not redirect the first requester's notice to itself.
    const namesNotice = Boolean(params.notifyUri) && !this.notifyUris.has(workOrderId);
    if (namesNotice) this.notifyUris.set(workOrderId, params.notifyUri!);
    const finished = params.responseTimeoutMSecs > 0 ? this.waitForFinish(workOrderId, Math.min(params.responseTimeoutMSecs, this.options.maxSyncWaitMs)) : undefined;
    const committing = performance.now();
    const accepted = await this.store.submitWorkOrder(
      { workOrderId, workerId, requesterId: canonicalId(params.requesterId), request: params, submittedAt: Date.now() },
      { maxPending: this.options.maxPendingWorkOrders },
    );
    this.submissionCommits.observeMs(performance.now() - committing);
    if (accepted !== 'accepted') {
      finished?.cancel();
      if (namesNotice) this.notifyUris.delete(workOrderId);
      if (accepted === 'duplicate') throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} already exists`);
      throw new TcfError(ErrorCode.BUSY, `the service has ${this.options.maxPendingWorkOrders} work orders pending; retry later`, { workOrderId: params.workOrderId });
    }
    if (!finished) {
      return { error: { code: ErrorCode.PENDING, message: PENDING_MESSAGE, data: { workOrderId: params.workOrderId, state: 'queued' } } };
    }
    const outcome = await finished.promise;
    if (outcome) return 'result' in outcome ? { result: outcome.result } : { error: outcome.error };
    const order = await this.store.getWorkOrder(workOrderId);
    if (!order) throw new TcfError(ErrorCode.UNKNOWN_ERROR, `work order ${params.workOrderId} vanished after it was accepted`);
    return outcomeAnswer(order);
  }

  /** Settles when the work order finishes (with its outcome if the store's event carried it), on timeout, or on cancel. */
  private waitForFinish(workOrderId: string, timeoutMs: number): { promise: Promise<WorkOrderOutcome | undefined>; cancel(): void } {
    let wake: Waker = () => undefined;
    const promise = new Promise<WorkOrderOutcome | undefined>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiting = this.waiters.get(workOrderId) ?? new Set();
      this.waiters.set(workOrderId, waiting);
      const self = this;
      function done(outcome?: WorkOrderOutcome) {
        clearTimeout(timer);
        waiting.delete(done);
        if (waiting.size === 0 && self.waiters.get(workOrderId) === waiting) self.waiters.delete(workOrderId);
        resolve(outcome);
      }
      wake = done;
      waiting.add(done);
    });
    return { promise, cancel: () => wake() };
  }
}

/**
 * Whether the operator allowed notices to `uri`: it must start with one of `prefixes` at a boundary, so
 * `http://127.0.0.1:4455` allows `http://127.0.0.1:4455/hook` but neither port 44556 nor
 * `http://127.0.0.1:4455.evil.example`. A prefix ending in `/` allows everything below that path; one
 * ending in `:` (a host with no port) allows any port of that host, and nothing else after it.
 */
export function notifyUriAllowed(uri: string, prefixes: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return false;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password) return false;
  return prefixes.some((prefix) => {
    if (!prefix || !uri.startsWith(prefix)) return false;
    const rest = uri.slice(prefix.length);
    if (prefix.endsWith('/')) return true;
    if (prefix.endsWith(':')) return /^\d{1,5}(?:[/?#]|$)/.test(rest);
    return rest === '' || /^[/?#]/.test(rest);
  });
}

/**
 * A token bucket per requesterId: `burst` work orders at once, refilled at `ratePerSecond`. Checked
 * after the signature, so with key binding one requester cannot spend another's allowance. Buckets
 * that are full again are forgotten, so the map holds only recently active requesters.
 */
class RequesterRateLimiter {
  private static readonly MAX_TRACKED = 10_000;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  take(requesterId: string, now = Date.now()): boolean {
    if (this.buckets.size > RequesterRateLimiter.MAX_TRACKED) this.forgetFull(now);
    const bucket = this.buckets.get(requesterId) ?? { tokens: this.burst, at: now };
    bucket.tokens = this.refilled(bucket, now);
    bucket.at = now;
    this.buckets.set(requesterId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
  }

  private forgetFull(now: number): void {
    for (const [requesterId, bucket] of this.buckets) if (this.refilled(bucket, now) >= this.burst) this.buckets.delete(requesterId);
  }
}

function unknownWorker(workerId: string): TcfError {
  return invalidParameter('params.workerId', `worker ${workerId} does not exist`);
}
