/**
 * EthereumLedger: the proxy model's registries on an Ethereum chain, as typed calls that take and
 * return the wire messages of protocol/messages.ts. What goes on chain as JSON is exactly those
 * messages (the worker's details, the WorkOrderSubmit params, the JSON-RPC response, the receipt's
 * create and update params), checked against the protocol schemas before a transaction is paid for and
 * again when read back, since anyone can write to the chain. Ids are kept on chain as bytes32 and come
 * back in canonical form (64 lowercase hex digits). A contract's revert surfaces as LedgerError.
 */
import { Contract, ZeroHash, isError, type EventLog, type Provider, type Signer } from 'ethers';
import { LAST_RECEIPT_UPDATE, ReceiptStatus, TcfError, invalidParameter, type RpcErrorObject } from '../../protocol/errors.js';
import { canonicalId, sameId } from '../../protocol/ids.js';
import {
  METHOD_PARAMS,
  WorkOrderReceiptCreateParams,
  WorkOrderReceiptUpdateParams,
  WorkOrderResult,
  WorkOrderSubmitParams,
  workerDetails,
  type LookUpResult,
  type MethodParams,
  type ReceiptCreate,
  type ReceiptRetrieveResult,
  type ReceiptUpdate,
  type ReceiptUpdateRetrieveResult,
  type WorkerRecord,
  type WorkOrderRequest,
} from '../../protocol/messages.js';
import { isRpcId, type RpcId, type RpcResponse } from '../../protocol/rpc.js';
import type { Validation } from '../../protocol/schema.js';
import type { ContractArtifacts } from './artifacts.js';
import type { Deployment } from './deploy.js';

/** A contract refused a call: `reason` is the contract's revert text (for example "WorkOrderRegistry: work order id already submitted"). */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly operation: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${operation}: ${reason}`, options);
  }
}

/** On-chain work order status (0, unknown, is reported as no work order). */
export const WorkOrderStatus = { SUBMITTED: 1, COMPLETED: 2 } as const;
export type WorkOrderStatusValue = (typeof WorkOrderStatus)[keyof typeof WorkOrderStatus];

/** What a worker stores on completion: the JSON-RPC response a direct-model node would give to WorkOrderGetResult. */
export type WorkOrderResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: WorkOrderResult }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export interface LedgerWorkOrder {
  workOrderId: string;
  workerId: string;
  status: WorkOrderStatusValue;
  request: WorkOrderRequest;
  /** Present once the worker has completed the work order. */
  response?: WorkOrderResponse;
}

/** Where an event sits on chain, so a follower can resume after it and notice a re-org. */
export interface EventPosition {
  blockNumber: number;
  blockHash: string;
  logIndex: number;
  transactionHash: string;
}

export interface EventQueryOptions {
  /** Blocks per eth_getLogs request (default 2000): public nodes cap the range one request may cover. */
  blocksPerQuery?: number;
}

/** A mined transaction of this ledger. */
export interface LedgerTransaction {
  transactionHash: string;
  blockNumber: number;
  gasUsed: bigint;
}

/** One workOrderSubmitted event, with its position on chain so a connector can follow and resume. */
export interface WorkOrderSubmittedEvent extends EventPosition {
  workOrderId: string;
  workerId: string;
  requesterId: string;
  /** The account that submitted it: the only one that may create its receipt. */
  requesterAccount: string;
  /** The submitted request, checked against the WorkOrderSubmit schema and the event's ids; anyone can submit anything. */
  request: Validation<WorkOrderRequest>;
}

/** One workOrderReceiptCreated event: the worker's account may now add its update. */
export interface ReceiptCreatedEvent extends EventPosition {
  workOrderId: string;
  workerId: string;
  requesterId: string;
}

export interface LedgerOptions {
  deployment: Deployment;
  artifacts: ContractArtifacts;
  /**
   * A Signer to send transactions (a Provider suffices for reading). Its provider should not cache
   * (ethers' `cacheTimeout: -1`), or "latest" can name a block that is no longer the latest.
   */
  runner: Signer | Provider;
}

const BYTES32_HEX = /^[0-9a-f]{64}$/;
/** Blocks per eth_getLogs request: public nodes cap the range a single request may cover. */
const DEFAULT_BLOCKS_PER_QUERY = 2000;

function bytes32(id: string, field: string): string {
  const canonical = canonicalId(id);
  if (!BYTES32_HEX.test(canonical)) throw invalidParameter(field, 'must be 32 bytes (64 hex digits) to be kept on chain');
  return `0x${canonical}`;
}

function bytes32OrAny(id: string | undefined, field: string): string {
  return id === undefined ? ZeroHash : bytes32(id, field);
}

function idFromChain(value: string): string {
  return canonicalId(value);
}

function lookUpTagToChain(tag: string | undefined): bigint {
  if (tag === undefined) return 0n;
  if (!/^[1-9][0-9]{0,77}$/.test(tag)) throw invalidParameter('lookUpTag', 'is not a lookup tag from this ledger');
  return BigInt(tag);
}

function lookUpResult(totalCount: bigint, lookUpTag: bigint, ids: string[]): LookUpResult {
  return { totalCount: Number(totalCount), lookupTag: lookUpTag === 0n ? '' : lookUpTag.toString(), ids: ids.map(idFromChain) };
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidParameter(field, 'is not JSON');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseWorkOrderRequest(json: string, workOrderId: string, workerId: string): WorkOrderRequest {
  const request = WorkOrderSubmitParams.check(parseJson(json, 'workOrderRequest'), 'workOrderRequest');
  if (!sameId(request.workOrderId, workOrderId)) throw invalidParameter('workOrderRequest.workOrderId', `is not the work order's id ${workOrderId}`);
  if (!sameId(request.workerId, workerId)) throw invalidParameter('workOrderRequest.workerId', `is not the work order's worker ${workerId}`);
  return request;
}

function checkSubmittedRequest(json: string, workOrderId: string, workerId: string, requesterId: string): Validation<WorkOrderRequest> {
  try {
    const request = parseWorkOrderRequest(json, workOrderId, workerId);
    if (!sameId(request.requesterId, requesterId)) throw invalidParameter('workOrderRequest.requesterId', `is not the event's requesterId ${requesterId}`);
    return { ok: true, value: request };
  } catch (error) {
    if (error instanceof TcfError) return { ok: false, error };
    throw error;
  }
}

function parseWorkOrderResponse(json: string, workOrderId: string): WorkOrderResponse {
  const value = parseJson(json, 'workOrderResponse');
  if (!isObject(value) || value.jsonrpc !== '2.0' || !isRpcId(value.id)) throw invalidParameter('workOrderResponse', 'must be a JSON-RPC 2.0 response');
  if ('result' in value) {
    const result = WorkOrderResult.check(value.result, 'workOrderResponse.result');
    if (!sameId(result.workOrderId, workOrderId)) throw invalidParameter('workOrderResponse.result.workOrderId', `is not the work order's id ${workOrderId}`);
    return { jsonrpc: '2.0', id: value.id, result };
  }
  const error = value.error;
  if (!isObject(error) || typeof error.code !== 'number' || typeof error.message !== 'string') {
    throw invalidParameter('workOrderResponse', 'must carry a result or an error with a numeric code and a message');
  }
  const rpcError: RpcErrorObject = { code: error.code, message: error.message };
  if (error.data !== undefined) rpcError.data = error.data;
  return { jsonrpc: '2.0', id: value.id, error: rpcError };
}

function position(log: EventLog): EventPosition {
  return { blockNumber: log.blockNumber, blockHash: log.blockHash, logIndex: log.index, transactionHash: log.transactionHash };
}

function toLedgerError(operation: string, error: unknown): unknown {
  if (!isError(error, 'CALL_EXCEPTION')) return error;
  return new LedgerError(operation, error.reason ?? error.shortMessage, { cause: error });
}

function isSigner(runner: Signer | Provider): runner is Signer {
  return typeof (runner as Partial<Signer>).getNonce === 'function' && typeof (runner as Partial<Signer>).sendTransaction === 'function';
}

export class EthereumLedger {
  private readonly workerRegistry: Contract;
  private readonly workOrderRegistry: Contract;
  private readonly receiptRegistry: Contract;
  private readonly signer: Signer | undefined;
  /**
   * Transactions are handed to the node one after another, each with the next nonce counted here, so
   * concurrent calls never share a nonce even when the provider caches the node's count. A call the
   * contract refuses (at gas estimation) sends nothing and uses none; any other failure makes the next
   * call ask the node again. Mining is awaited outside this chain.
   */
  private sending: Promise<unknown> = Promise.resolve();
  private nextNonce: number | undefined;

  constructor(options: LedgerOptions) {
    const { deployment, artifacts, runner } = options;
    this.signer = isSigner(runner) ? runner : undefined;
    this.workerRegistry = new Contract(deployment.addresses.workerRegistry, artifacts.contracts.WorkerRegistry.abi, runner);
    this.workOrderRegistry = new Contract(deployment.addresses.workOrderRegistry, artifacts.contracts.WorkOrderRegistry.abi, runner);
    this.receiptRegistry = new Contract(deployment.addresses.workOrderReceiptRegistry, artifacts.contracts.WorkOrderReceiptRegistry.abi, runner);
  }

  /** A ledger whose runner is on the deployment's chain: a deployment file for another chain is refused before any call. */
  static async connect(options: LedgerOptions): Promise<EthereumLedger> {
    const provider = options.runner.provider;
    if (!provider) throw new Error('the ledger runner must be connected to a provider');
    const { chainId } = await provider.getNetwork();
    if (Number(chainId) !== options.deployment.chainId) {
      throw new Error(`the node is on chain ${chainId}, but the contracts were deployed on chain ${options.deployment.chainId}`);
    }
    return new EthereumLedger(options);
  }

  // ------------------------------------------------------------------------------------------------
  // Worker registry

  /** Registers a worker as active, with this ledger's account as its registrant. */
  async registerWorker(params: MethodParams<'WorkerRegister'>): Promise<LedgerTransaction> {
    const worker = METHOD_PARAMS.WorkerRegister.check(params, 'params');
    return this.send('workerRegister', this.workerRegistry, [
      bytes32(worker.workerId, 'params.workerId'),
      worker.workerType,
      bytes32(worker.organizationId, 'params.organizationId'),
      worker.applicationTypeId.map((id, index) => bytes32(id, `params.applicationTypeId[${index}]`)),
      JSON.stringify(worker.details),
    ]);
  }

  async updateWorker(params: MethodParams<'WorkerUpdate'>): Promise<LedgerTransaction> {
    const update = METHOD_PARAMS.WorkerUpdate.check(params, 'params');
    return this.send('workerUpdate', this.workerRegistry, [bytes32(update.workerId, 'params.workerId'), JSON.stringify(update.details)]);
  }

  async setWorkerStatus(params: MethodParams<'WorkerSetStatus'>): Promise<LedgerTransaction> {
    const update = METHOD_PARAMS.WorkerSetStatus.check(params, 'params');
    return this.send('workerSetStatus', this.workerRegistry, [bytes32(update.workerId, 'params.workerId'), update.status]);
  }

  /** One page of workers matching every given criterion; pass the returned lookupTag for the next page ("" = no more). */
  async lookUpWorkers(filter: MethodParams<'WorkerLookUp'>, lookUpTag?: string): Promise<LookUpResult> {
    const criteria = [
      filter.workerType ?? 0,
      bytes32OrAny(filter.organizationId, 'organizationId'),
      bytes32OrAny(filter.applicationTypeId, 'applicationTypeId'),
    ];
    const [totalCount, nextTag, ids] =
      lookUpTag === undefined
        ? await this.view<[bigint, bigint, string[]]>('workerLookUp', this.workerRegistry, criteria)
        : await this.view<[bigint, bigint, string[]]>('workerLookUpNext', this.workerRegistry, [...criteria, lookUpTagToChain(lookUpTag)]);
    return lookUpResult(totalCount, nextTag, ids);
  }

  /** The worker's record, or undefined when the id is not registered. Throws TcfError if its stored details are not valid details. */
  async retrieveWorker(workerId: string): Promise<WorkerRecord | undefined> {
    const [status, workerType, organizationId, applicationTypeIds, details] = await this.view<[bigint, bigint, string, string[], string]>(
      'workerRetrieve',
      this.workerRegistry,
      [bytes32(workerId, 'workerId')],
    );
    if (status === 0n) return undefined;
    return {
      workerId: canonicalId(workerId),
      workerType: Number(workerType),
      organizationId: idFromChain(organizationId),
      applicationTypeId: applicationTypeIds.map(idFromChain),
      details: workerDetails.check(parseJson(details, 'details'), 'details'),
      status: Number(status),
    };
  }

  /** The account that registered the worker on chain (lowercase 0x-hex), or undefined when it is not registered. */
  async workerRegistrant(workerId: string): Promise<string | undefined> {
    const [registrant] = await this.view<[string, bigint]>('workerRegistrant', this.workerRegistry, [bytes32(workerId, 'workerId')]);
    return /^0x0{40}$/i.test(registrant) ? undefined : registrant.toLowerCase();
  }

  // ------------------------------------------------------------------------------------------------
  // Work orders

  /** Submits a work order to its worker (which must be active); this ledger's account becomes its requester account. */
  async submitWorkOrder(request: WorkOrderRequest): Promise<LedgerTransaction> {
    const checked = WorkOrderSubmitParams.check(request, 'params');
    return this.send('workOrderSubmit', this.workOrderRegistry, [
      bytes32(checked.workOrderId, 'params.workOrderId'),
      bytes32(checked.workerId, 'params.workerId'),
      bytes32(checked.requesterId, 'params.requesterId'),
      JSON.stringify(checked),
    ]);
  }

  /** Completes a work order with the worker's JSON-RPC response (a WorkOrderResult or an error); only its worker's registrant may. */
  async completeWorkOrder(workOrderId: string, response: RpcResponse): Promise<LedgerTransaction> {
    const json = JSON.stringify(response);
    parseWorkOrderResponse(json, workOrderId);
    return this.send('workOrderComplete', this.workOrderRegistry, [bytes32(workOrderId, 'workOrderId'), json]);
  }

  /** The work order, or undefined when no such id was submitted. Throws TcfError if its stored JSON is not a valid message. */
  async getWorkOrder(workOrderId: string): Promise<LedgerWorkOrder | undefined> {
    const [status, workerId, request, response] = await this.view<[bigint, string, string, string]>('workOrderGet', this.workOrderRegistry, [
      bytes32(workOrderId, 'workOrderId'),
    ]);
    if (status === 0n) return undefined;
    const order: LedgerWorkOrder = {
      workOrderId: canonicalId(workOrderId),
      workerId: idFromChain(workerId),
      status: Number(status) as WorkOrderStatusValue,
      request: parseWorkOrderRequest(request, workOrderId, workerId),
    };
    if (status === BigInt(WorkOrderStatus.COMPLETED)) order.response = parseWorkOrderResponse(response, workOrderId);
    return order;
  }

  /** The work order's status alone (undefined when no such id was submitted); unlike getWorkOrder it reads no JSON, so it works for any request. */
  async workOrderStatus(workOrderId: string): Promise<WorkOrderStatusValue | undefined> {
    const [status] = await this.view<[bigint, string, string]>('workOrderParties', this.workOrderRegistry, [bytes32(workOrderId, 'workOrderId')]);
    return status === 0n ? undefined : (Number(status) as WorkOrderStatusValue);
  }

  /**
   * The workOrderSubmitted events of blocks fromBlock..toBlock (inclusive), in chain order, read
   * `blocksPerQuery` blocks at a time. "latest" is resolved once, when iteration starts.
   */
  async *workOrderSubmittedEvents(fromBlock: number, toBlock: number | 'latest', options: EventQueryOptions = {}): AsyncGenerator<WorkOrderSubmittedEvent> {
    for await (const log of this.events(this.workOrderRegistry, 'workOrderSubmitted', fromBlock, toBlock, options)) {
      const workOrderId = idFromChain(log.args.getValue('workOrderId') as string);
      const workerId = idFromChain(log.args.getValue('workerId') as string);
      const requesterId = idFromChain(log.args.getValue('requesterId') as string);
      const json = log.args.getValue('workOrderRequest') as string;
      yield {
        workOrderId,
        workerId,
        requesterId,
        requesterAccount: log.args.getValue('senderAddress') as string,
        request: checkSubmittedRequest(json, workOrderId, workerId, requesterId),
        ...position(log),
      };
    }
  }

  /** The workOrderReceiptCreated events of blocks fromBlock..toBlock (inclusive), in chain order. */
  async *receiptCreatedEvents(fromBlock: number, toBlock: number | 'latest', options: EventQueryOptions = {}): AsyncGenerator<ReceiptCreatedEvent> {
    for await (const log of this.events(this.receiptRegistry, 'workOrderReceiptCreated', fromBlock, toBlock, options)) {
      yield {
        workOrderId: idFromChain(log.args.getValue('workOrderId') as string),
        workerId: idFromChain(log.args.getValue('workerId') as string),
        requesterId: idFromChain(log.args.getValue('requesterId') as string),
        ...position(log),
      };
    }
  }

  /** The hash of block `blockNumber`, or undefined when the chain has no such block. */
  async blockHash(blockNumber: number): Promise<string | undefined> {
    const block = await this.provider().getBlock(blockNumber);
    return block?.hash ?? undefined;
  }

  async blockNumber(): Promise<number> {
    return this.provider().getBlockNumber();
  }

  /** The address transactions are sent from (undefined for a read-only ledger). */
  async account(): Promise<string | undefined> {
    return this.signer?.getAddress();
  }

  /**
   * Makes the next transaction ask the node for the account's nonce again: needed after a re-org that
   * dropped this account's mined transactions, whose nonces the chain then hands out again.
   */
  forgetNonce(): void {
    this.nextNonce = undefined;
  }

  /** Waits until every transaction this ledger's account has sent is mined, so what the chain says is final for it. */
  async settle(options: { pollMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const address = await this.account();
    if (!address) return;
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const [pending, mined] = await Promise.all([this.provider().getTransactionCount(address, 'pending'), this.provider().getTransactionCount(address, 'latest')]);
      if (pending <= mined) return;
      if (Date.now() > deadline) throw new Error(`${pending - mined} transaction(s) from ${address} are still not mined`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Receipts

  /** Creates the work order's receipt; only the account that submitted the work order may. */
  async createReceipt(receipt: ReceiptCreate): Promise<LedgerTransaction> {
    const checked = WorkOrderReceiptCreateParams.check(receipt, 'params');
    return this.send('workOrderReceiptCreate', this.receiptRegistry, [
      bytes32(checked.workOrderId, 'params.workOrderId'),
      bytes32(checked.workerServiceId, 'params.workerServiceId'),
      bytes32(checked.workerId, 'params.workerId'),
      bytes32(checked.requesterId, 'params.requesterId'),
      checked.receiptCreateStatus,
      JSON.stringify(checked),
    ]);
  }

  /** Appends an update; `updaterId` is the receipt's requesterId or workerId, and this ledger's account must be that party's. */
  async updateReceipt(update: ReceiptUpdate): Promise<LedgerTransaction> {
    const checked = WorkOrderReceiptUpdateParams.check(update, 'params');
    return this.send('workOrderReceiptUpdate', this.receiptRegistry, [
      bytes32(checked.workOrderId, 'params.workOrderId'),
      bytes32(checked.updaterId, 'params.updaterId'),
      checked.updateType,
      JSON.stringify(checked),
    ]);
  }

  /** The receipt with its current status, or undefined when the work order has none. */
  async retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult | undefined> {
    const [, , , , currentStatus, json] = await this.view<[string, string, string, bigint, bigint, string]>(
      'workOrderReceiptRetrieve',
      this.receiptRegistry,
      [bytes32(workOrderId, 'workOrderId')],
    );
    if (json === '') return undefined;
    const receipt = WorkOrderReceiptCreateParams.check(parseJson(json, 'receipt'), 'receipt');
    if (!sameId(receipt.workOrderId, workOrderId)) throw invalidParameter('receipt.workOrderId', `is not the work order's id ${workOrderId}`);
    return { ...receipt, receiptCurrentStatus: Number(currentStatus) };
  }

  /**
   * One update of a receipt: `updateIndex` is 1-based among the updates by `updaterId` (all updates when
   * absent), or LAST_RECEIPT_UPDATE (0xFFFFFFFF; Avalon's 2^32 too) for the last. Undefined when there is none.
   */
  async retrieveReceiptUpdate(workOrderId: string, updateIndex: number, updaterId?: string): Promise<ReceiptUpdateRetrieveResult | undefined> {
    if (!Number.isSafeInteger(updateIndex) || updateIndex < 0) throw invalidParameter('updateIndex', 'must be a non-negative integer');
    const [, , json, updateCount] = await this.view<[string, bigint, string, bigint]>('workOrderReceiptUpdateRetrieve', this.receiptRegistry, [
      bytes32(workOrderId, 'workOrderId'),
      bytes32OrAny(updaterId, 'updaterId'),
      Math.min(updateIndex, LAST_RECEIPT_UPDATE),
    ]);
    if (json === '') return undefined;
    const update = WorkOrderReceiptUpdateParams.check(parseJson(json, 'update'), 'update');
    if (!sameId(update.workOrderId, workOrderId)) throw invalidParameter('update.workOrderId', `is not the work order's id ${workOrderId}`);
    return { ...update, updateCount: Number(updateCount) };
  }

  /** One page of receipts matching every given criterion (receiptStatus: the current status; absent or 255 = any). */
  async lookUpReceipts(filter: MethodParams<'WorkOrderReceiptLookUp'>, lookUpTag?: string): Promise<LookUpResult> {
    const criteria = [
      bytes32OrAny(filter.workerServiceId, 'workerServiceId'),
      bytes32OrAny(filter.workerId, 'workerId'),
      bytes32OrAny(filter.requesterId, 'requesterId'),
      filter.receiptStatus ?? ReceiptStatus.ANY,
    ];
    const [totalCount, nextTag, ids] =
      lookUpTag === undefined
        ? await this.view<[bigint, bigint, string[]]>('workOrderReceiptLookUp', this.receiptRegistry, criteria)
        : await this.view<[bigint, bigint, string[]]>('workOrderReceiptLookUpNext', this.receiptRegistry, [...criteria, lookUpTagToChain(lookUpTag)]);
    return lookUpResult(totalCount, nextTag, ids);
  }

  // ------------------------------------------------------------------------------------------------

  private provider(): Provider {
    const provider = this.workOrderRegistry.runner?.provider;
    if (!provider) throw new Error('the ledger runner must be connected to a provider');
    return provider;
  }

  private async *events(contract: Contract, event: string, fromBlock: number, toBlock: number | 'latest', options: EventQueryOptions): AsyncGenerator<EventLog> {
    const step = options.blocksPerQuery ?? DEFAULT_BLOCKS_PER_QUERY;
    const last = toBlock === 'latest' ? await this.provider().getBlockNumber() : toBlock;
    for (let start = fromBlock; start <= last; start += step) {
      const end = Math.min(start + step - 1, last);
      let logs;
      try {
        logs = await contract.queryFilter(event, start, end);
      } catch (error) {
        throw toLedgerError(`${event} events`, error);
      }
      yield* logs as EventLog[];
    }
  }

  private async send(method: string, contract: Contract, args: unknown[]): Promise<LedgerTransaction> {
    const signer = this.signer;
    if (!signer) throw new Error(`${method}: the ledger was given no signer, so it can only read`);
    const sent = this.sending.then(async () => {
      for (let attempt = 1; ; attempt += 1) {
        const nonce = this.nextNonce ?? (await signer.getNonce('pending'));
        try {
          const response = await contract.getFunction(method).send(...args, { nonce });
          this.nextNonce = nonce + 1;
          return response;
        } catch (error) {
          // Refused by the contract at gas estimation: nothing was sent and the nonce is still free.
          if (isError(error, 'CALL_EXCEPTION')) throw error;
          this.nextNonce = undefined;
          // The account also sent from elsewhere: count again from the node's view, once.
          if (attempt === 1 && isError(error, 'NONCE_EXPIRED')) continue;
          throw error;
        }
      }
    });
    this.sending = sent.catch(() => undefined);
    let receipt;
    try {
      receipt = await (await sent).wait();
    } catch (error) {
      throw toLedgerError(method, error);
    }
    if (!receipt) throw new LedgerError(method, 'the transaction has no receipt');
    return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
  }

  /** A view call's outputs, deep-converted to plain arrays; T names their types (uint → bigint, bytes32 → hex string). */
  private async view<T extends unknown[]>(method: string, contract: Contract, args: unknown[]): Promise<T> {
    try {
      const result = await contract.getFunction(method).staticCallResult(...args);
      return result.toArray(true) as T;
    } catch (error) {
      throw toLedgerError(method, error);
    }
  }
}
