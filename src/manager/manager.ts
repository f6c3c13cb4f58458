/**
 * The enclave manager: starts each worker's processes, registers the worker with its evidence, then
 * keeps every process busy with work orders claimed from the store's queue in FIFO order. It enforces
 * the per-work-order deadline, replaces dead or hung processes, and records each outcome with the
 * worker's signed receipt update in one atomic store write. Claims carry a stable owner id per
 * process slot, so a restarted manager takes back exactly the work it had in hand.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../config/index.js';
import { hexToText } from '../crypto/encoding.js';
import { ErrorCode, WorkerStatus, workerStatusName } from '../protocol/errors.js';
import { canonicalId } from '../protocol/ids.js';
import type { ReceiptUpdate, WorkerRecord } from '../protocol/messages.js';
import type { Store, StoredWorkOrder, WorkOrderOutcome } from '../store/store.js';
import type { WorkerInit, WorkerPublicIdentity } from '../enclave/ipc.js';
import type { Logger } from '../log/index.js';
import { Counter, Histogram, LabelledCounter } from '../metrics/index.js';
import { applyEncryptionKeySet } from '../service/keys.js';
import { WorkerProcess, WorkerProcessError } from './pool.js';

const START_TIMEOUT_MS = 60_000;
const CONTROL_TIMEOUT_MS = 60_000;
const IDLE_POLL_MS = 1_000;
const RESTART_BACKOFF_MS = 500;

/** workerId as Avalon derives it from a worker name: hex SHA-256 of the name. */
export function workerIdForName(name: string): string {
  return crypto.createHash('sha256').update(name, 'utf8').digest('hex');
}

/**
 * One worker process and its lanes. Each lane claims and runs one work order at a time under its own
 * owner id; with two lanes the next work order is already in the process's pipe when the last one's
 * result leaves it.
 */
interface Slot {
  workerId: string;
  name: string;
  init: WorkerInit;
  process: WorkerProcess;
  lanes: string[];
  /** Set while a dead process is being replaced, so that its lanes replace it once. */
  restarting: Promise<void> | undefined;
}

export interface ManagedWorker {
  name: string;
  workerId: string;
  identity: WorkerPublicIdentity;
}

export class EnclaveManager {
  private readonly slots: Slot[] = [];
  private readonly workers = new Map<string, ManagedWorker>();
  private running = false;
  private wakers = new Set<() => void>();
  /** Counts submissions heard; a lane that saw the queue empty sleeps only if none arrived since it looked. */
  private submissions = 0;
  private loops: Promise<void>[] = [];
  /** Outcomes being recorded: a lane does not wait for them before it claims its next work order. */
  private readonly recording = new Set<Promise<void>>();
  private unsubscribe: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private rotation: NodeJS.Timeout | undefined;
  private readonly outcomes = new LabelledCounter('tcf_work_orders_total', 'Work orders this manager ran to an end: completed, failed, or lost (its claim had passed to another manager before the outcome was recorded).', 'outcome');
  private readonly roundTrips = new Histogram('tcf_worker_round_trip_seconds', 'From handing a work order to a worker process until its answer arrives: the worker\'s crypto and workload plus the two process hops.');
  private readonly outcomeCommits = new Histogram('tcf_outcome_commit_seconds', 'Time to record a work order\'s outcome durably in the store (a synced commit on LMDB, a database round trip on PostgreSQL).');
  private readonly replacements = new Counter('tcf_worker_process_replacements_total', 'Worker processes started again after one died or overran a deadline.');
  private readonly requeued = new Counter('tcf_work_orders_requeued_total', 'Work orders put back in the queue because their worker process died while running them.');

  constructor(
    private readonly config: NodeConfig,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly listenerUrl: string,
  ) {}

  get managedWorkers(): ManagedWorker[] {
    return [...this.workers.values()];
  }

  /** Pids of every live worker process, for operators and fault tests. */
  get processIds(): number[] {
    return this.slots.map((slot) => slot.process.pid).filter((pid): pid is number => pid !== undefined);
  }

  async start(): Promise<void> {
    this.running = true;
    for (const name of this.config.workers.names) await this.startWorker(name);
    for (const owner of this.slots.flatMap((slot) => slot.lanes)) {
      const released = await this.store.releaseClaimsOf(owner);
      if (released > 0) this.log.warn('resuming work orders accepted before a restart', { owner, released });
    }
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.type !== 'submitted') return;
      this.submissions += 1;
      this.wakeAll();
    });
    this.sweeper = setInterval(() => {
      void this.store.releaseExpiredClaims(Date.now()).then((count) => {
        if (count > 0) this.log.warn('took over work orders whose claim expired', { count });
        if (count > 0) this.wakeAll();
      }, (error: unknown) => this.log.error('lease sweep failed', { error: String(error) }));
    }, Math.max(1_000, Math.floor(this.config.enclave.claimLeaseMs / 4)));
    this.loops = this.slots.flatMap((slot) => slot.lanes.map((owner) => this.runLane(slot, owner)));
    const rotationMinutes = this.config.enclave.encryptionKeyRotationMinutes;
    if (rotationMinutes > 0) {
      this.rotation = setInterval(() => {
        for (const worker of this.workers.values()) {
          this.rotateEncryptionKey(worker.workerId).catch((error: unknown) => this.log.error('scheduled key rotation failed', { workerId: worker.workerId, error: String(error) }));
        }
      }, rotationMinutes * 60_000);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.rotation) clearInterval(this.rotation);
    this.wakeAll();
    await Promise.all(this.loops);
    await Promise.all(this.recording);
    await Promise.all(this.slots.map((slot) => slot.process.stop()));
  }

  private async startWorker(name: string): Promise<void> {
    const workerId = workerIdForName(name);
    const { enclave, workers, dataDir } = this.config;
    fs.mkdirSync(path.join(dataDir, 'workload-data'), { recursive: true, mode: 0o700 });
    const baseInit: WorkerInit = {
      type: 'init',
      workerId,
      workerName: name,
      dataDir,
      workloadDataDir: path.join(dataDir, 'workload-data'),
      hashingAlgorithm: enclave.hashingAlgorithm,
      rsaBits: enclave.rsaBits,
      policy: {
        ivMode: enclave.ivMode,
        requireRequesterSignature: enclave.requireRequesterSignature || workers.signedOnly.includes(name),
        requesterKeyBinding: enclave.requesterKeyBinding,
      },
      mayProvisionKeys: true,
      workloadModules: workers.workloadModules,
      attestation: enclave.attestation,
    };
    let identity: WorkerPublicIdentity | undefined;
    for (let index = 0; index < workers.processesPerWorker; index += 1) {
      // Only the first process may create keys; the others unseal what it sealed.
      const init = { ...baseInit, mayProvisionKeys: index === 0 };
      const lanes = Array.from({ length: enclave.lanesPerProcess }, (_, lane) => `${this.config.nodeId}/${name}/${index}/${lane}`);
      const slot: Slot = { workerId, name, init, process: new WorkerProcess(init), lanes, restarting: undefined };
      const started = await slot.process.start(START_TIMEOUT_MS);
      identity ??= started;
      this.slots.push(slot);
      this.log.info('worker process started', { worker: name, slot: index, pid: slot.process.pid });
    }
    if (!identity) return;
    this.workers.set(workerId, { name, workerId, identity });
    const status = await this.register(this.workerRecord(workerId, identity, baseInit.policy.requireRequesterSignature));
    const fields = { worker: name, workerId, proofDataType: identity.proofDataType, measurement: identity.measurement };
    if (status === WorkerStatus.ACTIVE) this.log.info('worker registered', fields);
    else this.log.warn('worker registered with the status an operator set; it runs no work orders until set ACTIVE again', { ...fields, status: workerStatusName(status) });
  }

  /**
   * Publishes a worker's fresh keys and evidence but never its status: only WorkerSetStatus changes
   * that, so a worker an operator took off line, retired or declared compromised stays so across
   * restarts. Returns the status it keeps.
   */
  private async register(record: WorkerRecord): Promise<number> {
    const stored = await this.store.getWorker(record.workerId);
    if (!stored) {
      await this.store.putWorker(record);
      return record.status;
    }
    if (sameListing(stored, record)) {
      // Details only, in one write that leaves the status as it is even if it changes meanwhile.
      return (await this.store.updateWorker(record.workerId, { details: record.details }))?.status ?? stored.status;
    }
    await this.store.putWorker({ ...record, status: stored.status });
    return stored.status;
  }

  private workerRecord(workerId: string, identity: WorkerPublicIdentity, signedOnly: boolean): WorkerRecord {
    const { enclave, workers } = this.config;
    const workerTypeData: WorkerRecord['details']['workerTypeData'] = {
      verificationKey: identity.verificationKeyPem,
      encryptionKey: identity.encryptionKeyPem,
      encryptionKeySignature: identity.encryptionKeySignature,
      proofDataType: identity.proofDataType,
      proofData: identity.proofData,
      extendedMeasurements: [identity.measurement],
    };
    if (identity.encryptionKeyNonce !== undefined) workerTypeData.encryptionKeyNonce = identity.encryptionKeyNonce;
    if (identity.encryptionKeyTag !== undefined) workerTypeData.encryptionKeyTag = identity.encryptionKeyTag;
    return {
      workerId,
      workerType: workers.workerType,
      organizationId: workers.organizationId,
      applicationTypeId: workers.applicationTypeIds,
      status: WorkerStatus.ACTIVE,
      details: {
        workOrderSyncUri: this.listenerUrl,
        workOrderAsyncUri: this.listenerUrl,
        receiptInvocationUri: this.listenerUrl,
        hashingAlgorithm: enclave.hashingAlgorithm,
        signingAlgorithm: 'SECP256K1',
        keyEncryptionAlgorithm: `RSA-OAEP-${enclave.rsaBits}`,
        dataEncryptionAlgorithm: 'AES-GCM-256',
        workOrderPayloadFormats: 'JSON-RPC',
        requesterSignaturePolicy: signedOnly ? 'required' : 'optional',
        workerTypeData,
      },
    };
  }

  /**
   * Rotates a worker's encryption key: its first process creates and seals the new key and signs the
   * announcement; the store is updated through the same checks as EncryptionKeySet; the other
   * processes then unseal the new keys.
   */
  async rotateEncryptionKey(workerId: string, tag = ''): Promise<WorkerPublicIdentity> {
    const slots = this.slots.filter((slot) => slot.workerId === canonicalId(workerId));
    const [first, ...rest] = slots;
    if (!first) throw new Error(`worker ${workerId} is not managed by this node`);
    const nonce = crypto.randomBytes(16).toString('hex');
    const rotated = await first.process.rotateKey(nonce, tag, CONTROL_TIMEOUT_MS);
    await applyEncryptionKeySet(this.store, {
      workerId: first.workerId,
      encryptionKey: rotated.identity.encryptionKeyPem,
      encryptionKeyNonce: nonce,
      tag,
      signature: rotated.announcementSignature,
    }, { proofDataType: rotated.identity.proofDataType, proofData: rotated.identity.proofData });
    await Promise.all(rest.map((slot) => slot.process.reloadKeys(CONTROL_TIMEOUT_MS)));
    const managed = this.workers.get(first.workerId);
    if (managed) managed.identity = rotated.identity;
    this.log.info('encryption key rotated', { workerId: first.workerId, encryptionKeyNonce: nonce });
    return rotated.identity;
  }

  /** This manager's figures in the Prometheus text format, for the node's GET /metrics. */
  metricLines(): string[] {
    return [
      ...this.outcomes.lines(),
      ...this.roundTrips.lines(),
      ...this.outcomeCommits.lines(),
      ...this.replacements.lines(),
      ...this.requeued.lines(),
    ];
  }

  private wakeAll(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Waits for a submission or the poll interval, unless a submission arrived since `seen`. */
  private idle(seen: number): Promise<void> {
    if (this.submissions !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, IDLE_POLL_MS);
      const wakers = this.wakers;
      function done() {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  }

  private async runLane(slot: Slot, owner: string): Promise<void> {
    while (this.running) {
      const seen = this.submissions;
      try {
        const worked = await this.workOnce(slot, owner);
        if (!worked && this.running) await this.idle(seen);
      } catch (error) {
        this.log.error('enclave manager lane failed; retrying', { owner, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, RESTART_BACKOFF_MS));
      }
    }
  }

  /** Claims and runs one work order; false when the queue had none for this worker. */
  private async workOnce(slot: Slot, owner: string): Promise<boolean> {
    if (slot.restarting || !slot.process.running) await this.replaceProcess(slot);
    const { enclave } = this.config;
    const order = await this.store.claimWorkOrder(owner, enclave.claimLeaseMs, [slot.workerId]);
    if (!order) return false;
    if (order.workerStatus !== WorkerStatus.ACTIVE) {
      // Claimed only to be failed: the store keeps an OFF_LINE worker's queue waiting, so this worker was
      // retired or declared compromised, and requesters learn now rather than wait for a result that will not come.
      const status = order.workerStatus === undefined ? 'not registered' : workerStatusName(order.workerStatus);
      await this.finish(owner, order, failure(order, ErrorCode.INVALID_PARAMETER, `params.workerId: worker ${order.request.workerId} is ${status}, not active; this work order was not run, submit it to another worker`));
      return true;
    }
    if (order.attempts > enclave.maxAttempts) {
      await this.finish(owner, order, failure(order, ErrorCode.WORK_ORDER_UNKNOWN_ERROR, `worker process died ${order.attempts - 1} times while running this work order`));
      return true;
    }
    const started = performance.now();
    try {
      const processed = await slot.process.process(order.workOrderId, order.request, enclave.workOrderTimeoutMs);
      const elapsedMs = performance.now() - started;
      this.roundTrips.observeMs(elapsedMs);
      this.recordInBackground(owner, order, processed.outcome, processed.completionUpdate, Math.round(elapsedMs));
    } catch (error) {
      if (!(error instanceof WorkerProcessError)) throw error;
      if (error.reason === 'timeout') {
        this.log.warn('work order exceeded its deadline; replacing the worker process', { workOrderId: order.workOrderId, timeoutMs: enclave.workOrderTimeoutMs });
        await slot.process.kill();
        await this.finish(owner, order, failure(order, ErrorCode.WORK_ORDER_UNKNOWN_ERROR, `work order exceeded the worker's ${enclave.workOrderTimeoutMs} ms deadline`));
      } else {
        // The process died mid-work: nothing was recorded, so the work order goes back in the queue.
        this.log.warn('worker process died while running a work order; requeueing it', { workOrderId: order.workOrderId, reason: error.message });
        await this.store.releaseClaimsOf(owner);
        this.requeued.add();
      }
    }
    return true;
  }

  /**
   * Records a result while the lane goes on to its next work order: the commit (a disk sync, or a
   * database round trip) would otherwise leave the worker process idle. The claim stays held until the
   * outcome is recorded; if the write fails, the claim expires and the work order runs again.
   */
  private recordInBackground(owner: string, order: StoredWorkOrder, outcome: WorkOrderOutcome, update: ReceiptUpdate, elapsedMs: number): void {
    const recorded = this.finish(owner, order, outcome, update, elapsedMs).catch((error: unknown) => {
      this.log.error('recording a work order outcome failed; it will run again when its claim expires', { workOrderId: order.workOrderId, error: (error as Error).message ?? String(error) });
    });
    this.recording.add(recorded);
    void recorded.finally(() => this.recording.delete(recorded));
  }

  private async finish(owner: string, order: StoredWorkOrder, outcome: WorkOrderOutcome, update?: ReceiptUpdate, elapsedMs?: number): Promise<void> {
    const committing = performance.now();
    const recorded = await this.store.finishWorkOrder(order.workOrderId, owner, outcome, update);
    this.outcomeCommits.observeMs(performance.now() - committing);
    this.outcomes.add(!recorded ? 'lost' : 'error' in outcome ? 'failed' : 'completed');
    const fields = { workOrderId: order.workOrderId, workload: readableWorkload(order.request.workloadId), ms: elapsedMs };
    if (!recorded) this.log.warn('claim lost before the outcome was recorded; another manager owns this work order now', fields);
    else if ('error' in outcome) this.log.info('work order failed', { ...fields, code: outcome.error.code, reason: outcome.error.message });
    else this.log.debug('work order completed', fields);
  }

  private replaceProcess(slot: Slot): Promise<void> {
    slot.restarting ??= (async () => {
      // Published only once ready, so no lane sends work to a process still initialising.
      const fresh = new WorkerProcess({ ...slot.init, mayProvisionKeys: false });
      await fresh.start(START_TIMEOUT_MS);
      slot.process = fresh;
      this.replacements.add();
      this.log.info('worker process replaced', { worker: slot.name, pid: fresh.pid });
    })().finally(() => {
      slot.restarting = undefined;
    });
    return slot.restarting;
  }
}

/** True when a re-registration changes only details, which updateWorker can write without touching the status. */
function sameListing(stored: WorkerRecord, fresh: WorkerRecord): boolean {
  return (
    stored.workerType === fresh.workerType &&
    stored.organizationId === fresh.organizationId &&
    stored.applicationTypeId.length === fresh.applicationTypeId.length &&
    stored.applicationTypeId.every((id, index) => id === fresh.applicationTypeId[index])
  );
}

function failure(order: StoredWorkOrder, code: number, message: string): WorkOrderOutcome {
  return { error: { code, message, data: { workOrderId: order.request.workOrderId } } };
}

function readableWorkload(workloadId: string): string {
  const text = hexToText(workloadId);
  return text !== undefined && /^[\x20-\x7e]+$/.test(text) ? text : workloadId;
}
