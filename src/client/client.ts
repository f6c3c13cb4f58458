/**
 * TcfClient: the requester's SDK for the direct model. It refuses to use a worker whose evidence and
 * key binding do not pass the caller's trust policy, builds and encrypts work orders with the core's
 * requester code, waits for results (synchronously or by polling) and verifies and decrypts them, and
 * creates and reads receipts.
 */
import { bytesToBase64, bytesToHex, isHex, textToHex } from '../crypto/encoding.js';
import { requesterIdForKey, type SigningKeyPair } from '../crypto/keys.js';
import { ecdsaSignDigest, randomBytes, type HashingAlgorithm } from '../crypto/primitives.js';
import { ErrorCode, ReceiptStatus } from '../protocol/errors.js';
import { receiptCreateHash, receiptUpdateHash } from '../protocol/hashing.js';
import { workerDetails, type LookUpResult, type ReceiptCreate, type ReceiptRetrieveResult, type ReceiptUpdateRetrieveResult, type WorkerRecord } from '../protocol/messages.js';
import { validate } from '../protocol/schema.js';
import { DEVELOPMENT_POLICY, type TrustPolicy } from '../attestation/evidence.js';
import { trustWorker, type TrustedWorker } from '../attestation/worker-trust.js';
import { buildWorkOrder, openWorkOrderResult, type BuiltWorkOrder, type InputItem, type OpenedResult, type OutputRequest } from '../workorder/requester.js';
import type { IvMode } from '../workorder/items.js';
import { JsonRpcClient, RpcCallError, TransportError, type RpcClientOptions } from './rpc-client.js';
import type { NotifyListener } from './notify.js';

export interface TcfClientOptions extends RpcClientOptions {
  /** Evidence policy every worker must pass before use. Default: DEVELOPMENT_POLICY (allows the simulated TEE). */
  trustPolicy?: TrustPolicy;
  /** Interval between WorkOrderGetResult polls. */
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
  /** How long the TCS may hold the call for a synchronous answer; 0 = always asynchronous. */
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
  readonly rpc: JsonRpcClient;
  private readonly trustPolicy: TrustPolicy;
  private readonly pollIntervalMs: number;

  constructor(url: string, options: TcfClientOptions = {}) {
    this.rpc = new JsonRpcClient(url, options);
    this.trustPolicy = options.trustPolicy ?? DEVELOPMENT_POLICY;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** All worker ids matching the filter, following LookUpNext until the last page. */
  async lookUpWorkers(filter: { workerType?: number; organizationId?: string; applicationTypeId?: string } = {}): Promise<string[]> {
    const ids: string[] = [];
    let page: LookUpResult = await this.rpc.call('WorkerLookUp', filter);
    ids.push(...page.ids);
    while (page.lookupTag) {
      page = await this.rpc.call('WorkerLookUpNext', { ...filter, lookUpTag: page.lookupTag });
      ids.push(...page.ids);
    }
    return ids;
  }

  async getWorker(workerId: string): Promise<WorkerRecord> {
    const worker = await this.rpc.call('WorkerRetrieve', { workerId });
    const details = validate(workerDetails, worker.details, 'result.details');
    if (!details.ok) throw new TransportError(`worker ${workerId}: ${details.error.message}`);
    return { ...worker, workerId, details: details.value };
  }

  /** Retrieves a worker and checks its evidence and key binding under the trust policy; throws UntrustedWorkerError. */
  async trustedWorker(workerId: string, policy: TrustPolicy = this.trustPolicy): Promise<TrustedWorker> {
    return trustWorker(await this.getWorker(workerId), policy);
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
    try {
      const result = await this.rpc.call('WorkOrderSubmit', built.params);
      submission.opened = openWorkOrderResult(result, built, worker.keys);
    } catch (error) {
      if (!(error instanceof RpcCallError && error.code === ErrorCode.PENDING)) throw error;
    }
    return submission;
  }

  /** Polls WorkOrderGetResult until the result arrives, then verifies and decrypts it. */
  async waitForResult(submission: Submission, options: WaitOptions = {}): Promise<OpenedResult> {
    if (submission.opened) return submission.opened;
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 5 * 60_000);
    if (options.notifications) await options.notifications.waitFor(submission.workOrderId, Math.max(0, deadline - Date.now()));
    for (;;) {
      try {
        const result = await this.rpc.call('WorkOrderGetResult', { workOrderId: submission.workOrderId });
        submission.opened = openWorkOrderResult(result, submission.built, submission.worker.keys);
        return submission.opened;
      } catch (error) {
        if (!(error instanceof RpcCallError && error.code === ErrorCode.PENDING)) throw error;
        const state = (error.data as { state?: string } | undefined)?.state;
        options.onPending?.(Date.now() - started, state);
      }
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
    await this.rpc.call('WorkOrderReceiptCreate', receiptCreateParams(submission, signer, status));
  }

  /** Adds a requester update (e.g. COMPLETED once the result was accepted). */
  async updateReceipt(workOrderId: string, signer: SigningKeyPair, updateType: number, updateData: string, algorithm: HashingAlgorithm = 'SHA-256'): Promise<void> {
    const fields = { workOrderId, updateType, updateData };
    await this.rpc.call('WorkOrderReceiptUpdate', {
      ...fields,
      updaterId: requesterIdForKey(signer.publicKey),
      updateSignature: bytesToBase64(ecdsaSignDigest(signer.privateKey, receiptUpdateHash(fields, algorithm))),
      signatureRules: `${algorithm}/SECP256K1`,
      receiptVerificationKey: signer.publicKeyPem,
    });
  }

  retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult> {
    return this.rpc.call('WorkOrderReceiptRetrieve', { workOrderId });
  }

  retrieveReceiptUpdate(workOrderId: string, updateIndex: number): Promise<ReceiptUpdateRetrieveResult> {
    return this.rpc.call('WorkOrderReceiptUpdateRetrieve', { workOrderId, updateIndex });
  }

  /** One page of receipt ids; pass the previous page's lookupTag to continue. */
  lookUpReceipts(filter: { workerServiceId?: string; workerId?: string; requesterId?: string; receiptStatus?: number }, lookupTag?: string): Promise<LookUpResult> {
    return lookupTag
      ? this.rpc.call('WorkOrderReceiptLookUpNext', { ...filter, lastLookUpTag: lookupTag })
      : this.rpc.call('WorkOrderReceiptLookUp', filter);
  }
}
