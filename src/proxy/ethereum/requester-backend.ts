/**
 * The proxy model's way in for a requester: TcfClient's calls as transactions and view calls on the
 * registries. A submitted work order is always answered later — by a connector, which completes it on
 * chain with the worker's JSON-RPC response — so submit returns nothing and results are polled from
 * the work order registry. What the direct model reports as a spec error (unknown worker, no receipt,
 * the worker's own error response) comes back as the same RpcCallError code here.
 */
import type { ReceiptFilter, RequesterBackend, ResultPoll, WorkerFilter } from '../../client/backend.js';
import { RpcCallError } from '../../client/rpc-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import type {
  LookUpResult,
  ReceiptCreate,
  ReceiptRetrieveResult,
  ReceiptUpdate,
  ReceiptUpdateRetrieveResult,
  WorkerRecord,
  WorkOrderRequest,
  WorkOrderResult,
} from '../../protocol/messages.js';
import type { Deployment } from './deploy.js';
import type { EthereumLedger } from './ledger.js';

function notFound(method: string, what: string): RpcCallError {
  return new RpcCallError(method, ErrorCode.INVALID_PARAMETER, `${what} does not exist on chain`);
}

export class EthereumRequesterBackend implements RequesterBackend {
  readonly description: string;

  private readonly registrants: readonly string[] | undefined;

  /**
   * `registrants`: the accounts of the TCSs (connectors) this requester uses. Worker ids are public and
   * anyone may register one first, so a worker registered by another account is refused, however
   * genuine its evidence looks. Left out, any registrant is accepted (evidence alone decides).
   */
  constructor(
    private readonly ledger: EthereumLedger,
    deployment: Deployment,
    options: { registrants?: readonly string[] } = {},
  ) {
    this.description = `the work order registry ${deployment.addresses.workOrderRegistry} on chain ${deployment.chainId}`;
    this.registrants = options.registrants?.map((address) => address.toLowerCase());
  }

  lookUpWorkers(filter: WorkerFilter, lookUpTag?: string): Promise<LookUpResult> {
    return this.ledger.lookUpWorkers(filter, lookUpTag);
  }

  async retrieveWorker(workerId: string): Promise<WorkerRecord> {
    const worker = await this.ledger.retrieveWorker(workerId);
    if (!worker) throw notFound('WorkerRetrieve', `worker ${workerId}`);
    return worker;
  }

  async workerProvenance(workerId: string): Promise<string[]> {
    if (!this.registrants) return [];
    const registrant = await this.ledger.workerRegistrant(workerId);
    if (registrant && this.registrants.includes(registrant)) return [];
    return [
      `the worker was registered on chain by ${registrant ?? 'nobody'}, not by an account this requester trusts (${this.registrants.join(', ')}): ` +
        'anyone may register a worker id first; its operator must register under another worker id',
    ];
  }

  async submitWorkOrder(request: WorkOrderRequest): Promise<WorkOrderResult | undefined> {
    await this.ledger.submitWorkOrder(request);
    return undefined;
  }

  async pollResult(workOrderId: string): Promise<ResultPoll> {
    const order = await this.ledger.getWorkOrder(workOrderId);
    if (!order) throw notFound('WorkOrderGetResult', `work order ${workOrderId}`);
    const response = order.response;
    if (!response) return { pending: true, state: 'submitted on chain' };
    if ('error' in response) throw new RpcCallError('WorkOrderGetResult', response.error.code, response.error.message, response.error.data);
    return { result: response.result };
  }

  async createReceipt(receipt: ReceiptCreate): Promise<void> {
    await this.ledger.createReceipt(receipt);
  }

  async updateReceipt(update: ReceiptUpdate): Promise<void> {
    await this.ledger.updateReceipt(update);
  }

  async retrieveReceipt(workOrderId: string): Promise<ReceiptRetrieveResult> {
    const receipt = await this.ledger.retrieveReceipt(workOrderId);
    if (!receipt) throw notFound('WorkOrderReceiptRetrieve', `a receipt for work order ${workOrderId}`);
    return receipt;
  }

  async retrieveReceiptUpdate(workOrderId: string, updateIndex: number): Promise<ReceiptUpdateRetrieveResult> {
    const update = await this.ledger.retrieveReceiptUpdate(workOrderId, updateIndex);
    if (!update) throw notFound('WorkOrderReceiptUpdateRetrieve', `receipt update ${updateIndex} of work order ${workOrderId}`);
    return update;
  }

  lookUpReceipts(filter: ReceiptFilter, lookUpTag?: string): Promise<LookUpResult> {
    return this.ledger.lookUpReceipts(filter, lookUpTag);
  }
}
