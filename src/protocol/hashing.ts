/**
 * The digests that signatures and integrity checks cover, exactly as the EEA spec and Avalon compute
 * them (Avalon: common/python/crypto_utils/worker_hash.py and the enclave's ComputeRequestHash).
 * Strings are hashed as their UTF-8 bytes exactly as they appear on the wire, never re-encoded.
 * docs/protocol.md gives each recipe with its source.
 */
import { utf8 } from '../crypto/encoding.js';
import { digest, digestText, type HashingAlgorithm } from '../crypto/primitives.js';

export interface HashableItem {
  index: number;
  data?: string | null;
  dataHash?: string | null;
  encryptedDataEncryptionKey?: string | null;
  iv?: string | null;
}

/** SHA(concat over items sorted by index of dataHash‖data‖encryptedDataEncryptionKey‖iv); absent = "". */
export function dataItemsHash(items: readonly HashableItem[], algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  const sorted = [...items].sort((a, b) => a.index - b.index);
  return digestText(algorithm, sorted.flatMap((item) => [item.dataHash ?? '', item.data ?? '', item.encryptedDataEncryptionKey ?? '', item.iv ?? '']));
}

export interface RequestHashFields {
  requesterNonce: string;
  workOrderId: string;
  workerId: string;
  workloadId: string;
  requesterId: string;
  inData: readonly HashableItem[];
  outData?: readonly HashableItem[] | undefined;
}

/** H( H(requesterNonce‖workOrderId‖workerId‖workloadId‖requesterId) ‖ H(inData) [‖ H(outData) if outData non-empty] ). */
export function workOrderRequestHash(request: RequestHashFields, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  const header = digest(
    algorithm,
    utf8(request.requesterNonce + request.workOrderId + request.workerId + request.workloadId + request.requesterId),
  );
  const parts = [header, dataItemsHash(request.inData, algorithm)];
  if (request.outData && request.outData.length > 0) parts.push(dataItemsHash(request.outData, algorithm));
  return digest(algorithm, Buffer.concat(parts));
}

export interface ResponseHashFields {
  workerNonce: string;
  workOrderId: string;
  workerId: string;
  workloadId: string;
  requesterId: string;
  outData: readonly HashableItem[];
}

/** H( H(workerNonce‖workOrderId‖workerId‖workloadId‖requesterId) ‖ H(outData) ). */
export function workOrderResponseHash(result: ResponseHashFields, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  const header = digest(
    algorithm,
    utf8(result.workerNonce + result.workOrderId + result.workerId + result.workloadId + result.requesterId),
  );
  return digest(algorithm, Buffer.concat([header, dataItemsHash(result.outData, algorithm)]));
}

export interface ReceiptCreateHashFields {
  workOrderId: string;
  workerServiceId: string;
  workerId: string;
  requesterId: string;
  receiptCreateStatus: number;
  workOrderRequestHash: string;
  requesterGeneratedNonce: string;
}

/** H(workOrderId‖workerServiceId‖workerId‖requesterId‖decimal(receiptCreateStatus)‖workOrderRequestHash‖requesterGeneratedNonce). */
export function receiptCreateHash(receipt: ReceiptCreateHashFields, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  return digest(
    algorithm,
    utf8(
      receipt.workOrderId +
        receipt.workerServiceId +
        receipt.workerId +
        receipt.requesterId +
        String(receipt.receiptCreateStatus) +
        receipt.workOrderRequestHash +
        receipt.requesterGeneratedNonce,
    ),
  );
}

export interface ReceiptUpdateHashFields {
  workOrderId: string;
  updateType: number;
  updateData: string;
}

/** H(workOrderId‖decimal(updateType)‖updateData). */
export function receiptUpdateHash(update: ReceiptUpdateHashFields, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  return digest(algorithm, utf8(update.workOrderId + String(update.updateType) + update.updateData));
}

/** The digest behind a worker's `encryptionKeySignature`: H(encryption key PEM text). */
export function encryptionKeyHash(encryptionKeyPem: string, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  return digest(algorithm, utf8(encryptionKeyPem));
}

export interface EncryptionKeyAnnouncement {
  workerId: string;
  encryptionKey: string;
  encryptionKeyNonce: string;
  tag: string;
}

/** The digest signed in EncryptionKeyGet/EncryptionKeySet (spec: over workerId, key, nonce and tag): H(workerId‖encryptionKey‖encryptionKeyNonce‖tag). */
export function encryptionKeyAnnouncementHash(announcement: EncryptionKeyAnnouncement, algorithm: HashingAlgorithm = 'SHA-256'): Buffer {
  return digest(
    algorithm,
    utf8(announcement.workerId + announcement.encryptionKey + announcement.encryptionKeyNonce + announcement.tag),
  );
}

/**
 * What a worker's completion receipt update commits to (`updateData`, hex): the response hash of the
 * result it signed, or H(decimal(code)‖":"‖message) for an error. Canonical field hashing rather than
 * Avalon's hash of a JSON serialisation, which changes with key order.
 */
export function workOrderOutcomeDigest(
  outcome: { result: ResponseHashFields } | { error: { code: number; message: string } },
  algorithm: HashingAlgorithm = 'SHA-256',
): Buffer {
  if ('result' in outcome) return workOrderResponseHash(outcome.result, algorithm);
  return digest(algorithm, utf8(`${outcome.error.code}:${outcome.error.message}`));
}
