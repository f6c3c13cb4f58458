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
import type { ReceiptFilter, Store, StoredReceipt } from '../store/store.js';

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

/**
 * The receipt status rules (spec receipt status codes; Avalon kept only the first two rows' refusals).
 * The status that governs is the last spec status (0–4) of the receipt, from its updates or else its
 * creation; application statuses (above 255) annotate a receipt whose status is not final and govern
 * nothing, so they cannot launder a transition the table refuses.
 *
 *   from PENDING    to PENDING, PROCESSED, COMPLETED, FAILED, REJECTED
 *   from PROCESSED  to PROCESSED (more updates were expected), COMPLETED
 *   from FAILED     to REJECTED (the requester's verdict on a failed work order)
 *   from COMPLETED  nothing: final ("no more updates")
 *   from REJECTED   nothing: final
 *
 * A work order is never run again under its id, so nothing goes back to PENDING once it left it, and a
 * failed one has no result to call PROCESSED or COMPLETED.
 */
const LEGAL_TRANSITIONS: Readonly<Record<number, readonly number[]>> = {
  [ReceiptStatus.PENDING]: [ReceiptStatus.PENDING, ReceiptStatus.PROCESSED, ReceiptStatus.COMPLETED, ReceiptStatus.FAILED, ReceiptStatus.REJECTED],
  [ReceiptStatus.PROCESSED]: [ReceiptStatus.PROCESSED, ReceiptStatus.COMPLETED],
  [ReceiptStatus.FAILED]: [ReceiptStatus.REJECTED],
  [ReceiptStatus.COMPLETED]: [],
  [ReceiptStatus.REJECTED]: [],
};

const STATUS_NAMES: Readonly<Record<number, string>> = {
  [ReceiptStatus.PENDING]: 'PENDING',
  [ReceiptStatus.COMPLETED]: 'COMPLETED',
  [ReceiptStatus.PROCESSED]: 'PROCESSED',
  [ReceiptStatus.FAILED]: 'FAILED',
  [ReceiptStatus.REJECTED]: 'REJECTED',
};

function isSpecStatus(status: number): boolean {
  return status <= ReceiptStatus.REJECTED;
}

function governingStatus(receipt: StoredReceipt): number {
  for (let index = receipt.updates.length - 1; index >= 0; index -= 1) {
    const status = receipt.updates[index]!.updateType;
    if (isSpecStatus(status)) return status;
  }
  return isSpecStatus(receipt.create.receiptCreateStatus) ? receipt.create.receiptCreateStatus : ReceiptStatus.PENDING;
}

/** Refuses an update the receipt already holds, or a status the table above does not allow from where the receipt stands. */
function checkFreshAndLegal(receipt: StoredReceipt, params: MethodParams<'WorkOrderReceiptUpdate'>): void {
  // The signature covers only workOrderId, updateType and updateData, and ECDSA signatures are malleable,
  // so a replay is recognised by what was signed and by whom, not by the signature's bytes.
  const replayed = receipt.updates.some(
    (update) => sameId(update.updaterId, params.updaterId) && update.updateType === params.updateType && update.updateData === params.updateData,
  );
  if (replayed) {
    throw invalidParameter('params.updateSignature', 'this update (same updater, updateType and updateData) is already on the receipt; a replayed update is refused (vary updateData for a new one)');
  }
  const from = governingStatus(receipt);
  const allowed = LEGAL_TRANSITIONS[from] ?? [];
  if (allowed.length === 0) throw invalidParameter('params.updateType', `the receipt is ${STATUS_NAMES[from]}, a final status, and takes no more updates`);
  if (isSpecStatus(params.updateType) && !allowed.includes(params.updateType)) {
    throw invalidParameter(
      'params.updateType',
      `a ${STATUS_NAMES[from]} receipt cannot become ${STATUS_NAMES[params.updateType]}; from ${STATUS_NAMES[from]} only ${allowed.map((status) => STATUS_NAMES[status]).join(', ')} or an application status`,
    );
  }
}

/** Conflicting appends (another update got in between read and write) are checked again from a fresh read this many times. */
const APPEND_ATTEMPTS = 5;

export async function receiptUpdate(store: Store, policy: ReceiptPolicy, params: MethodParams<'WorkOrderReceiptUpdate'>): Promise<void> {
  const workOrderId = canonicalId(params.workOrderId);
  if (!isKnownStatus(params.updateType)) throw invalidParameter('params.updateType', 'must be 0–4 or an application status above 255');
  for (let attempt = 1; ; attempt += 1) {
    const receipt = await store.getReceipt(workOrderId);
    if (!receipt) throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} has no receipt`);
    checkFreshAndLegal(receipt, params);
    if (attempt === 1) await checkUpdateSignature(store, policy, receipt, params);
    // Appended only if no other update got in since this read, so the checks above hold for what is written.
    const appended = await store.appendReceiptUpdate(workOrderId, params, receipt.updates.length);
    if (appended === 'appended') return;
    if (appended === 'no-receipt') throw invalidParameter('params.workOrderId', `work order ${params.workOrderId} has no receipt`);
    if (attempt >= APPEND_ATTEMPTS) throw new TcfError(ErrorCode.BUSY, 'the receipt is being updated by other calls; try again');
  }
}

async function checkUpdateSignature(store: Store, policy: ReceiptPolicy, receipt: StoredReceipt, params: MethodParams<'WorkOrderReceiptUpdate'>): Promise<void> {
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
