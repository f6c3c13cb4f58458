/**
 * Where a requester's calls go. The direct model sends them to a TCS's JSON-RPC listener; the proxy
 * model sends them to a ledger's contracts (proxy/ethereum/requester-backend.ts), where a connector
 * picks the work orders up. TcfClient holds one RequesterBackend and does everything that must not
 * depend on the way in — checking evidence, encrypting, verifying and decrypting — itself, so the
 * same signatures are verified whichever way a result travelled.
 *
 * A backend reports the spec's errors as RpcCallError with the spec code, whatever carried them.
 */
import { ErrorCode } from '../protocol/errors.js';
import {
  workerDetails,
  type LookUpResult,
  type MethodParams,
  type ReceiptCreate,
  type ReceiptRetrieveResult,
  type ReceiptUpdate,
  type ReceiptUpdateRetrieveResult,
  type WorkerRecord,
  type WorkOrderRequest,
  type WorkOrderResult,
} from '../protocol/messages.js';
import { validate } from '../protocol/schema.js';
import { JsonRpcClient, RpcCallError, TransportError, type RpcClientOptions } from './rpc-client.js';

export type WorkerFilter = MethodParams<'WorkerLookUp'>;
export type ReceiptFilter = MethodParams<'WorkOrderReceiptLookUp'>;

/** A result poll: the signed result, or still pending (with the TCS's state when it gives one). */
export type ResultPoll = { result: WorkOrderResult } | { pending: true; state?: string };

export interface RequesterBackend {
  /** Names the way in, for messages: the listener URL or the chain and contract. */
  readonly description: string;
  /** One page of worker ids; pass the returned lookupTag for the next ("" = last page). */
  lookUpWorkers(filter: WorkerFilter, lookUpTag?: string): Promise<LookUpResult>;
  /** The worker's record as registered, its details checked against the schema (their evidence not yet trusted). */
  retrieveWorker(workerId: string): Promise<WorkerRecord>;
  /**
   * Reasons not to trust who published the worker's record, beside its evidence (empty when none): on a
   * chain anyone may register a worker id first, so a requester names the accounts of the TCSs it uses.
   */
  workerProvenance(workerId: string): Promise<string[]>;
  /** Submits; the result when the way in answers at once (direct model, synchronous), otherwise undefined. */
  submitWorkOrder(request: WorkOrderRequest): Promise<WorkOrderResult | undefined>;
  /** The result, pending, or an RpcCallError carrying the worker's spec error. */
  pollResult(workOrderId: string): Promise<ResultPoll>;
  createReceipt(receipt: ReceiptCreate): Promise<void>;
  updateReceipt(update: ReceiptUpdate): Promise<void>;
  retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult>;
  retrieveReceiptUpdate(workOrderId: string, updateIndex: number): Promise<ReceiptUpdateRetrieveResult>;
  lookUpReceipts(filter: ReceiptFilter, lookUpTag?: string): Promise<LookUpResult>;
}

/** The direct model: every call is the spec's JSON-RPC method on a TCS listener. */
export class DirectBackend implements RequesterBackend {
  readonly rpc: JsonRpcClient;

  constructor(url: string, options: RpcClientOptions = {}) {
    this.rpc = new JsonRpcClient(url, options);
  }

  get description(): string {
    return `the TCS at ${this.rpc.url}`;
  }

  lookUpWorkers(filter: WorkerFilter, lookUpTag?: string): Promise<LookUpResult> {
    return lookUpTag ? this.rpc.call('WorkerLookUpNext', { ...filter, lookUpTag }) : this.rpc.call('WorkerLookUp', filter);
  }

  async retrieveWorker(workerId: string): Promise<WorkerRecord> {
    const worker = await this.rpc.call('WorkerRetrieve', { workerId });
    const details = validate(workerDetails, worker.details, 'result.details');
    if (!details.ok) throw new TransportError(`worker ${workerId}: ${details.error.message}`);
    // The listener answers without the id; the record carries the one asked for.
    return { ...worker, workerId, details: details.value };
  }

  /** A TCS's listener serves only the workers it registered: the URL (and its TLS) is the provenance. */
  async workerProvenance(): Promise<string[]> {
    return [];
  }

  async submitWorkOrder(request: WorkOrderRequest): Promise<WorkOrderResult | undefined> {
    try {
      return await this.rpc.call('WorkOrderSubmit', request);
    } catch (error) {
      if (error instanceof RpcCallError && error.code === ErrorCode.PENDING) return undefined;
      throw error;
    }
  }

  async pollResult(workOrderId: string): Promise<ResultPoll> {
    try {
      return { result: await this.rpc.call('WorkOrderGetResult', { workOrderId }) };
    } catch (error) {
      if (!(error instanceof RpcCallError && error.code === ErrorCode.PENDING)) throw error;
      const state = (error.data as { state?: unknown } | undefined)?.state;
      return typeof state === 'string' ? { pending: true, state } : { pending: true };
    }
  }

  async createReceipt(receipt: ReceiptCreate): Promise<void> {
    await this.rpc.call('WorkOrderReceiptCreate', receipt);
  }

  async updateReceipt(update: ReceiptUpdate): Promise<void> {
    await this.rpc.call('WorkOrderReceiptUpdate', update);
  }

  retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult> {
    return this.rpc.call('WorkOrderReceiptRetrieve', { workOrderId });
  }

  retrieveReceiptUpdate(workOrderId: string, updateIndex: number): Promise<ReceiptUpdateRetrieveResult> {
    return this.rpc.call('WorkOrderReceiptUpdateRetrieve', { workOrderId, updateIndex });
  }

  lookUpReceipts(filter: ReceiptFilter, lookUpTag?: string): Promise<LookUpResult> {
    return lookUpTag ? this.rpc.call('WorkOrderReceiptLookUpNext', { ...filter, lastLookUpTag: lookUpTag }) : this.rpc.call('WorkOrderReceiptLookUp', filter);
  }
}
