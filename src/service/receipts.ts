/**
 * The Work Order Receipt API. A receipt is created by the work order's requester, updated by the
 * requester or the worker, and every signature is checked against a key that is bound to its
 * signer: the requester's by requesterId = hash of its key, the worker's by its registered
 * (attested) verification key. Avalon trusted whatever key came with the call; TCF does not.
 */
import { base64ToBytes, bytesToBase64 } from '../crypto/encoding.js';
import { requesterIdForKey, verifyingKeyFromPem } from '../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../crypto/primitives.js';
import { ErrorCode, LAST_RECEIPT_UPDATE, ReceiptStatus, TcfError, invalidParameter } from '../protocol/errors.js';
import { receiptCreateHash, receiptUpdateHash, workOrderRequestHash } from '../protocol/hashing.js';
import { canonicalId, sameId } from '../protocol/ids.js';
import type { LookUpResult, MethodParams, ReceiptRetrieveResult, ReceiptUpdateRetrieveResult, WorkerRecord } from '../protocol/messages.js';
import type { ReceiptFilter, Store } from '../store/store.js';

export interface ReceiptPolicy {
  requesterKeyBinding: 'bound' | 'unbound';
  lookUpPageSize: number;
}

function parseKey(pem: string, field: string): Uint8Array {
  try {
    return verifyingKeyFromPem(pem);
  } catch (error) {
    throw invalidParameter(field, (error as Error).message);
  }
}

function algorithmOf(signatureRules: string, worker: WorkerRecord | undefined): HashingAlgorithm {
  const [hash, curve] = signatureRules.split('/');
  const expected = (worker?.details.hashingAlgorithm ?? 'SHA-256') as HashingAlgorithm;
  if (hash !== expected || curve !== 'SECP256K1') {
    throw invalidParameter('params.signatureRules', `must be "${expected}/SECP256K1"`);
  }
  return expected;
}

function isKnownStatus(status: number): boolean {
  return status <= ReceiptStatus.REJECTED || status > ReceiptStatus.ANY;
}

export async function receiptCreate(store: Store, policy: ReceiptPolicy, params: MethodParams<'WorkOrderReceiptCreate'>): Promise<void> {
  const order = await store.getWorkOrder(canonicalId(params.workOrderId));
  if (!order) throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} does not exist`);
  if (!sameId(params.workerId, order.workerId)) throw invalidParameter('params.workerId', 'is not the worker this work order was submitted to');
  if (!sameId(params.requesterId, order.request.requesterId)) throw new TcfError(ErrorCode.ACCESS_DENIED, 'params.requesterId: only the requester of a work order creates its receipt');
  if (!isKnownStatus(params.receiptCreateStatus)) throw invalidParameter('params.receiptCreateStatus', 'must be 0–4 or an application status above 255');
  const worker = await store.getWorker(canonicalId(order.workerId));
  const algorithm = algorithmOf(params.signatureRules, worker);
  const requestHash = bytesToBase64(workOrderRequestHash(order.request, algorithm));
  if (params.workOrderRequestHash !== requestHash) throw invalidParameter('params.workOrderRequestHash', 'is not the hash of the submitted work order request');
  const key = parseKey(params.receiptVerificationKey, 'params.receiptVerificationKey');
  if (policy.requesterKeyBinding === 'bound' && !sameId(params.requesterId, requesterIdForKey(key))) {
    throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.receiptVerificationKey: requesterId must be the SHA-256 of this key (SPKI DER)');
  }
  if (!ecdsaVerifyDigest(key, receiptCreateHash(params, algorithm), base64ToBytes(params.requesterSignature))) {
    throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.requesterSignature: does not verify over the receipt with receiptVerificationKey');
  }
  if ((await store.createReceipt(params)) === 'exists') {
    throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} already has a receipt`);
  }
}

export async function receiptUpdate(store: Store, policy: ReceiptPolicy, params: MethodParams<'WorkOrderReceiptUpdate'>): Promise<void> {
  const workOrderId = canonicalId(params.workOrderId);
  const receipt = await store.getReceipt(workOrderId);
  if (!receipt) throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} has no receipt`);
  if (receipt.currentStatus === ReceiptStatus.COMPLETED) throw invalidParameter('params.updateType', 'the receipt is COMPLETED and takes no more updates');
  const backwards: number[] = [ReceiptStatus.PENDING, ReceiptStatus.FAILED, ReceiptStatus.REJECTED];
  if (receipt.currentStatus === ReceiptStatus.PROCESSED && backwards.includes(params.updateType)) {
    throw invalidParameter('params.updateType', 'a PROCESSED receipt cannot go back to PENDING, FAILED or REJECTED');
  }
  if (!isKnownStatus(params.updateType)) throw invalidParameter('params.updateType', 'must be 0–4 or an application status above 255');
  const worker = await store.getWorker(canonicalId(receipt.create.workerId));
  const algorithm = algorithmOf(params.signatureRules, worker);
  const key = parseKey(params.receiptVerificationKey, 'params.receiptVerificationKey');
  if (sameId(params.updaterId, receipt.create.requesterId)) {
    if (policy.requesterKeyBinding === 'bound' && !sameId(params.updaterId, requesterIdForKey(key))) {
      throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.receiptVerificationKey: updaterId must be the SHA-256 of this key (SPKI DER)');
    }
  } else if (sameId(params.updaterId, receipt.create.workerId)) {
    if (!worker || Buffer.compare(Buffer.from(parseKey(worker.details.workerTypeData.verificationKey, 'worker')), Buffer.from(key)) !== 0) {
      throw new TcfError(ErrorCode.INVALID_SIGNATURE, "params.receiptVerificationKey: is not the worker's registered verification key");
    }
  } else {
    throw new TcfError(ErrorCode.ACCESS_DENIED, "params.updaterId: only the work order's requester or worker updates its receipt");
  }
  if (!ecdsaVerifyDigest(key, receiptUpdateHash(params, algorithm), base64ToBytes(params.updateSignature))) {
    throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.updateSignature: does not verify over the update with receiptVerificationKey');
  }
  await store.appendReceiptUpdate(workOrderId, params);
}

export async function receiptRetrieve(store: Store, params: MethodParams<'WorkOrderReceiptRetrieve'>): Promise<ReceiptRetrieveResult> {
  const receipt = await store.getReceipt(canonicalId(params.workOrderId));
  if (!receipt) throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} has no receipt`);
  return { ...receipt.create, receiptCurrentStatus: receipt.currentStatus };
}

/** updateIndex is 1-based among the (optionally updater-filtered) updates; 0xFFFFFFFF names the last. */
export async function receiptUpdateRetrieve(store: Store, params: MethodParams<'WorkOrderReceiptUpdateRetrieve'>): Promise<ReceiptUpdateRetrieveResult> {
  const receipt = await store.getReceipt(canonicalId(params.workOrderId));
  if (!receipt) throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} has no receipt`);
  const updaterId = params.updaterId;
  const updates = updaterId ? receipt.updates.filter((update) => sameId(update.updaterId, updaterId)) : receipt.updates;
  const index = params.updateIndex >= LAST_RECEIPT_UPDATE ? updates.length : params.updateIndex;
  const update = index >= 1 ? updates[index - 1] : undefined;
  if (!update) throw invalidParameter('params.updateIndex', `must be 1–${updates.length} or ${LAST_RECEIPT_UPDATE} (last); this receipt has ${updates.length} matching update(s)`);
  return { ...update, updateCount: updates.length };
}

export async function receiptLookUp(
  store: Store,
  policy: ReceiptPolicy,
  params: MethodParams<'WorkOrderReceiptLookUp'> & { lastLookUpTag?: string },
): Promise<LookUpResult> {
  const filter: ReceiptFilter = {};
  if (params.workerServiceId !== undefined) filter.workerServiceId = canonicalId(params.workerServiceId);
  if (params.workerId !== undefined) filter.workerId = canonicalId(params.workerId);
  if (params.requesterId !== undefined) filter.requesterId = canonicalId(params.requesterId);
  if (params.receiptStatus !== undefined && params.receiptStatus !== ReceiptStatus.ANY) filter.receiptStatus = params.receiptStatus;
  const page = await store.lookUpReceipts(filter, params.lastLookUpTag, policy.lookUpPageSize);
  return { totalCount: page.totalCount, lookupTag: page.nextCursor, ids: page.ids };
}
