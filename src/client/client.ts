/**
 * TcfClient: the requester's SDK, for the direct model (a TCS's listener) and the proxy model (a
 * ledger) alike — the way in is a RequesterBackend. It refuses to use a worker whose evidence and
 * key binding do not pass the caller's trust policy, builds and encrypts work orders with the core's
 * requester code, waits for results (synchronously or by polling) and verifies and decrypts them, and
 * creates and reads receipts.
 */
import { bytesToBase64, bytesToHex, isHex, textToHex } from '../crypto/encoding.js';
import { requesterIdForKey, type SigningKeyPair } from '../crypto/keys.js';
import { ecdsaSignDigest, randomBytes, type HashingAlgorithm } from '../crypto/primitives.js';
import { ReceiptStatus } from '../protocol/errors.js';
import { receiptCreateHash, receiptUpdateHash } from '../protocol/hashing.js';
import type { LookUpResult, ReceiptCreate, ReceiptRetrieveResult, ReceiptUpdateRetrieveResult, WorkerRecord } from '../protocol/messages.js';
import { DEVELOPMENT_POLICY, type TrustPolicy } from '../attestation/policy.js';
import type { VendorRoots } from '../attestation/verify.js';
import { judgeWorker, trustWorker, UntrustedWorkerError, type TrustedWorker, type WorkerJudgement } from '../attestation/worker-trust.js';
import { buildWorkOrder, openWorkOrderResult, type BuiltWorkOrder, type InputItem, type OpenedResult, type OutputRequest } from '../workorder/requester.js';
import type { IvMode } from '../workorder/items.js';
import { DirectBackend, type ReceiptFilter, type RequesterBackend, type WorkerFilter } from './backend.js';
import type { JsonRpcClient, RpcClientOptions } from './rpc-client.js';
import type { NotifyListener } from './notify.js';

export interface TcfClientOptions extends RpcClientOptions {
  /** Evidence policy every worker must pass before use. Default: DEVELOPMENT_POLICY (allows the simulated TEE). */
  trustPolicy?: TrustPolicy;
  /** Roots to pin instead of the TEE vendors' own: only for test PKIs, never in production. */
  attestationRoots?: VendorRoots;
  /** Interval between result polls (default 100 ms). */
  pollIntervalMs?: number;
}

export interface SubmitOptions {
  workerId: string;
  /** Workload name (`echo-result`) or its hex id. */
  workload: string;
  inputs: readonly (InputItem | string)[];
  outputs?: readonly OutputRequest[];
  /** Sign the request; requesterId becomes the hash of this key. */
  signer?: SigningKeyPair;
  /** How long the TCS may hold the call for a synchronous answer; 0 = always asynchronous. A ledger always answers later. */
  responseTimeoutMs?: number;
  ivMode?: IvMode;
  workOrderId?: string;
  /** Ask the TCS to POST a completion notice here (see NotifyListener); the TCS must allow the URI. */
  notifyUri?: string;
}

/** A submitted work order and the secrets needed to open its result. */
export interface Submission {
  workOrderId: string;
  built: BuiltWorkOrder;
  worker: TrustedWorker;
  /** Present when the TCS answered synchronously. */
  opened?: OpenedResult;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Wait for this listener's completion notice instead of polling (polling resumes if none comes). */
  notifications?: NotifyListener;
  /** Called after each pending poll, with the elapsed time: for progress output. */
  onPending?: (elapsedMs: number, state: string | undefined) => void;
}

export class ResultTimeoutError extends Error {
  override readonly name = 'ResultTimeoutError';
}

/** The signed WorkOrderReceiptCreate params for a submitted work order. */
export function receiptCreateParams(submission: Submission, signer: SigningKeyPair, status: number = ReceiptStatus.PENDING): ReceiptCreate {
  const request = submission.built.params;
  const algorithm: HashingAlgorithm = submission.worker.keys.hashingAlgorithm ?? 'SHA-256';
  const fields = {
    workOrderId: request.workOrderId,
    workerServiceId: request.workerId,
    workerId: request.workerId,
    requesterId: request.requesterId,
    receiptCreateStatus: status,
    workOrderRequestHash: bytesToBase64(submission.built.secrets.requestHash),
    requesterGeneratedNonce: bytesToHex(randomBytes(16)),
  };
  return {
    ...fields,
    requesterSignature: bytesToBase64(ecdsaSignDigest(signer.privateKey, receiptCreateHash(fields, algorithm))),
    signatureRules: `${algorithm}/SECP256K1`,
    receiptVerificationKey: signer.publicKeyPem,
  };
}

export class TcfClient {
  readonly backend: RequesterBackend;
  private readonly trustPolicy: TrustPolicy;
  private readonly attestationRoots: VendorRoots | undefined;
  private readonly pollIntervalMs: number;

  /** A TCS listener's URL (direct model), or any RequesterBackend such as a ledger's. */
  constructor(target: string | RequesterBackend, options: TcfClientOptions = {}) {
    this.backend = typeof target === 'string' ? new DirectBackend(target, options) : target;
    this.trustPolicy = options.trustPolicy ?? DEVELOPMENT_POLICY;
    this.attestationRoots = options.attestationRoots;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** The JSON-RPC client of a direct-model client, for calls the SDK does not wrap. */
  get rpc(): JsonRpcClient {
    if (this.backend instanceof DirectBackend) return this.backend.rpc;
    throw new Error(`this client talks to ${this.backend.description}, not to a JSON-RPC listener`);
  }

  /** All worker ids matching the filter, following the lookup tags until the last page. */
  async lookUpWorkers(filter: WorkerFilter = {}): Promise<string[]> {
    const ids: string[] = [];
    let page: LookUpResult = await this.backend.lookUpWorkers(filter);
    ids.push(...page.ids);
    while (page.lookupTag) {
      page = await this.backend.lookUpWorkers(filter, page.lookupTag);
      ids.push(...page.ids);
    }
    return ids;
  }

  getWorker(workerId: string): Promise<WorkerRecord> {
    return this.backend.retrieveWorker(workerId);
  }

  /** Retrieves a worker and checks its evidence and key binding under the trust policy; throws UntrustedWorkerError. */
  async trustedWorker(workerId: string, policy: TrustPolicy = this.trustPolicy): Promise<TrustedWorker> {
    const worker = await this.getWorker(workerId);
    const provenance = await this.backend.workerProvenance(worker.workerId);
    if (provenance.length > 0) throw new UntrustedWorkerError(`worker ${worker.workerId}: ${provenance.join('; ')}`);
    return trustWorker(worker, policy, this.attestationRoots ? { roots: this.attestationRoots } : {});
  }

  /** A worker's evidence and provenance as judged under the policy, trusted or not, with every reason it is not. */
  async judgeWorker(worker: WorkerRecord, policy: TrustPolicy = this.trustPolicy): Promise<WorkerJudgement> {
    const judgement = await judgeWorker(worker, policy, this.attestationRoots ? { roots: this.attestationRoots } : {});
    const provenance = await this.backend.workerProvenance(worker.workerId);
    if (provenance.length === 0) return judgement;
    return { ...judgement, trusted: false, reasons: [...provenance, ...judgement.reasons] };
  }

  async submit(options: SubmitOptions): Promise<Submission> {
    const worker = await this.trustedWorker(options.workerId);
    const workloadId = isHex(options.workload) && !/^[a-z-]+$/.test(options.workload) ? options.workload : textToHex(options.workload);
    const buildOptions: Parameters<typeof buildWorkOrder>[0] = {
      worker: worker.keys,
      workloadId,
      inData: options.inputs.map((input) => (typeof input === 'string' ? { data: input } : input)),
      responseTimeoutMSecs: options.responseTimeoutMs ?? 0,
      ivMode: options.ivMode ?? 'per-item',
    };
    if (options.outputs) buildOptions.outData = options.outputs;
    if (options.signer) buildOptions.signer = options.signer;
    if (options.workOrderId) buildOptions.workOrderId = options.workOrderId;
    if (options.notifyUri) buildOptions.notifyUri = options.notifyUri;
    const built = buildWorkOrder(buildOptions);
    const submission: Submission = { workOrderId: built.params.workOrderId, built, worker };
    const result = await this.backend.submitWorkOrder(built.params);
    if (result) submission.opened = openWorkOrderResult(result, built, worker.keys);
    return submission;
  }

  /** Polls for the result until it arrives, then verifies and decrypts it. */
  async waitForResult(submission: Submission, options: WaitOptions = {}): Promise<OpenedResult> {
    if (submission.opened) return submission.opened;
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 5 * 60_000);
    if (options.notifications) await options.notifications.waitFor(submission.workOrderId, Math.max(0, deadline - Date.now()));
    for (;;) {
      const poll = await this.backend.pollResult(submission.workOrderId);
      if ('result' in poll) {
        submission.opened = openWorkOrderResult(poll.result, submission.built, submission.worker.keys);
        return submission.opened;
      }
      options.onPending?.(Date.now() - started, poll.state);
      if (Date.now() >= deadline) throw new ResultTimeoutError(`no result for work order ${submission.workOrderId} after ${Date.now() - started} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.pollIntervalMs));
    }
  }

  /** Submits and waits: the one-call form. */
  async run(options: SubmitOptions, wait: WaitOptions = {}): Promise<OpenedResult & { workOrderId: string }> {
    const submission = await this.submit(options);
    return { ...(await this.waitForResult(submission, wait)), workOrderId: submission.workOrderId };
  }

  /** Creates the receipt of a submitted work order, signed by the requester key that signed it. */
  async createReceipt(submission: Submission, signer: SigningKeyPair, status: number = ReceiptStatus.PENDING): Promise<void> {
    await this.backend.createReceipt(receiptCreateParams(submission, signer, status));
  }

  /** Adds a requester update (e.g. COMPLETED once the result was accepted). */
  async updateReceipt(workOrderId: string, signer: SigningKeyPair, updateType: number, updateData: string, algorithm: HashingAlgorithm = 'SHA-256'): Promise<void> {
    const fields = { workOrderId, updateType, updateData };
    await this.backend.updateReceipt({
      ...fields,
      updaterId: requesterIdForKey(signer.publicKey),
      updateSignature: bytesToBase64(ecdsaSignDigest(signer.privateKey, receiptUpdateHash(fields, algorithm))),
      signatureRules: `${algorithm}/SECP256K1`,
      receiptVerificationKey: signer.publicKeyPem,
    });
  }

  retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult> {
    return this.backend.retrieveReceipt(workOrderId);
  }

  retrieveReceiptUpdate(workOrderId: string, updateIndex: number): Promise<ReceiptUpdateRetrieveResult> {
    return this.backend.retrieveReceiptUpdate(workOrderId, updateIndex);
  }

  /** One page of receipt ids; pass the previous page's lookupTag to continue. */
  lookUpReceipts(filter: ReceiptFilter, lookupTag?: string): Promise<LookUpResult> {
    return this.backend.lookUpReceipts(filter, lookupTag);
  }
}
