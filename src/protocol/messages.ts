/**
 * Every JSON-RPC message of the direct model (EEA Off-Chain Trusted Compute Specification §§ Worker
 * Registry, Work Order, Work Order Receipt and Encryption Key APIs), with field names and encodings as
 * Avalon's listener and Python SDK use them. These schemas are the only definition of the wire format:
 * the listener, the client SDK and the ledger connectors all validate with them.
 */
import {
  array,
  base64,
  hexBytes,
  hexId,
  integer,
  nullable,
  object,
  oneOf,
  optional,
  string,
  type Infer,
  type Schema,
} from './schema.js';

/** Upper bound of one data item's text (base64): the listener's body limit is the real guard. */
export const MAX_DATA_ITEM_CHARS = 64 * 1024 * 1024;
export const MAX_DATA_ITEMS = 1024;
const PEM_MAX = 8192;

const pem = string({ minLength: 1, maxLength: PEM_MAX, pattern: /-----BEGIN [A-Z ]+-----/, patternName: 'a PEM block' });

// ---------------------------------------------------------------------------------------------------
// Worker registry

export const workerTypeData = object(
  {
    verificationKey: pem,
    encryptionKey: pem,
    encryptionKeyNonce: optional(string({ maxLength: 256 })),
    /** TCF: the tag of the EncryptionKeySet that installed the key (the signature then covers nonce and tag). */
    encryptionKeyTag: optional(string({ maxLength: 256 })),
    encryptionKeySignature: string({ maxLength: 1024 }),
    proofDataType: optional(string({ maxLength: 128 })),
    proofData: optional(string({ maxLength: 1 << 20 })),
    extendedMeasurements: optional(array(string({ maxLength: 1024 }), { maxItems: 64 })),
    enclaveCertificate: optional(string({ maxLength: PEM_MAX })),
  },
  { unknownFields: 'keep' },
);

export const workerDetails = object(
  {
    workOrderSyncUri: optional(string({ maxLength: 2048 })),
    workOrderAsyncUri: optional(string({ maxLength: 2048 })),
    workOrderPullUri: optional(string({ maxLength: 2048 })),
    workOrderNotifyUri: optional(string({ maxLength: 2048 })),
    receiptInvocationUri: optional(string({ maxLength: 2048 })),
    workOrderInvocationAddress: optional(string({ maxLength: 256 })),
    receiptInvocationAddress: optional(string({ maxLength: 256 })),
    fromAddress: optional(string({ maxLength: 256 })),
    hashingAlgorithm: string({ maxLength: 64 }),
    signingAlgorithm: string({ maxLength: 64 }),
    keyEncryptionAlgorithm: string({ maxLength: 64 }),
    dataEncryptionAlgorithm: string({ maxLength: 64 }),
    workOrderPayloadFormats: optional(string({ maxLength: 256 })),
    /** TCF: whether this worker refuses unsigned work orders, so requesters know before they submit. */
    requesterSignaturePolicy: optional(oneOf(['required', 'optional'] as const)),
    workerTypeData,
  },
  { unknownFields: 'keep' },
);
export type WorkerDetails = Infer<typeof workerDetails>;

const workerType = integer({ min: 1, max: 3 });
const workerStatus = integer({ min: 1, max: 4 });
const applicationTypeIds = array(hexId(), { maxItems: 64 });

export const WorkerRegisterParams = object({
  workerId: hexId(),
  workerType,
  organizationId: hexId(),
  applicationTypeId: applicationTypeIds,
  details: workerDetails,
});
export const WorkerUpdateParams = object({ workerId: hexId(), details: workerDetails });
export const WorkerSetStatusParams = object({ workerId: hexId(), status: workerStatus });
export const WorkerLookUpParams = object({
  workerType: optional(workerType),
  organizationId: optional(hexId()),
  applicationTypeId: optional(hexId()),
});
export const WorkerLookUpNextParams = object({
  workerType: optional(workerType),
  organizationId: optional(hexId()),
  applicationTypeId: optional(hexId()),
  lookUpTag: string({ minLength: 1, maxLength: 512 }),
});
export const WorkerRetrieveParams = object({ workerId: hexId() });

export interface WorkerRecord {
  workerId: string;
  workerType: number;
  organizationId: string;
  applicationTypeId: string[];
  details: WorkerDetails;
  status: number;
}
export type WorkerRetrieveResult = Omit<WorkerRecord, 'workerId'>;

/** Result of every LookUp/LookUpNext: `lookupTag` is an opaque cursor, "" when there is no more. */
export interface LookUpResult {
  totalCount: number;
  lookupTag: string;
  ids: string[];
}

// ---------------------------------------------------------------------------------------------------
// Work orders

/**
 * One inData/outData item. `encryptedDataEncryptionKey`: "-" = not encrypted (data is base64 plaintext);
 * absent, "", "null" or null = encrypted with the session key; hex = a per-item key wrapped with the
 * worker's RSA key. `iv`: the item's own GCM IV (TCF default); empty means the request's sessionKeyIv
 * (Avalon compatibility). `dataHash`: hex SHA-256 of the plaintext, checked when present.
 */
export const dataItem = object({
  index: integer({ min: 0, max: 0xffffffff }),
  data: string({ maxLength: MAX_DATA_ITEM_CHARS }),
  dataHash: optional(nullable(hexBytes({ maxLength: 128, allowEmpty: true }))),
  encryptedDataEncryptionKey: optional(nullable(string({ maxLength: 4096, pattern: /^(-|null|(0[xX])?[0-9a-fA-F]*)$/, patternName: '"-", "null", "" or hex' }))),
  iv: optional(nullable(hexBytes({ maxLength: 64, allowEmpty: true }))),
});
export type DataItem = Infer<typeof dataItem>;

/** outData items of a request describe how each output is to be encrypted; `data` is normally "". */
export const outDataItem = object({
  index: integer({ min: 0, max: 0xffffffff }),
  data: optional(string({ maxLength: MAX_DATA_ITEM_CHARS })),
  dataHash: optional(nullable(hexBytes({ maxLength: 128, allowEmpty: true }))),
  encryptedDataEncryptionKey: optional(nullable(string({ maxLength: 4096, pattern: /^(-|null|(0[xX])?[0-9a-fA-F]*)$/, patternName: '"-", "null", "" or hex' }))),
  iv: optional(nullable(hexBytes({ maxLength: 64, allowEmpty: true }))),
});
export type OutDataItem = Infer<typeof outDataItem>;

export const WorkOrderSubmitParams = object({
  responseTimeoutMSecs: integer({ min: 0, max: 24 * 3600 * 1000 }),
  payloadFormat: oneOf(['JSON-RPC', 'json-rpc'] as const),
  resultUri: optional(string({ maxLength: 2048 })),
  notifyUri: optional(string({ maxLength: 2048 })),
  workOrderId: hexId(),
  workerId: hexId(),
  workloadId: hexId(),
  requesterId: hexId(),
  workerEncryptionKey: optional(hexBytes({ maxLength: 4 * PEM_MAX, allowEmpty: true })),
  dataEncryptionAlgorithm: optional(oneOf(['AES-GCM-256', 'aes-gcm-256'] as const)),
  encryptedSessionKey: hexBytes({ maxLength: 2048 }),
  sessionKeyIv: optional(hexBytes({ maxLength: 64, allowEmpty: true })),
  requesterNonce: hexId(),
  encryptedRequestHash: hexBytes({ maxLength: 512 }),
  requesterSignature: optional(base64({ maxLength: 512, allowEmpty: true })),
  verifyingKey: optional(string({ maxLength: PEM_MAX })),
  inData: array(dataItem, { maxItems: MAX_DATA_ITEMS, uniqueBy: (item) => item.index, uniqueName: 'index' }),
  outData: optional(array(outDataItem, { maxItems: MAX_DATA_ITEMS, uniqueBy: (item) => item.index, uniqueName: 'index' })),
});
export type WorkOrderRequest = Infer<typeof WorkOrderSubmitParams>;

export const WorkOrderGetResultParams = object({ workOrderId: hexId() });

/** The signed result a worker returns (WorkOrderGetResult / synchronous WorkOrderSubmit). */
export const WorkOrderResult = object(
  {
    workOrderId: hexId(),
    workloadId: hexId(),
    workerId: hexId(),
    requesterId: hexId(),
    workerNonce: string({ minLength: 1, maxLength: 256 }),
    workerSignature: base64({ maxLength: 512 }),
    outData: array(dataItem, { maxItems: MAX_DATA_ITEMS, uniqueBy: (item) => item.index, uniqueName: 'index' }),
    extVerificationKey: optional(string({ maxLength: PEM_MAX })),
    extVerificationKeySignature: optional(string({ maxLength: 512 })),
  },
  { unknownFields: 'keep' },
);
export type WorkOrderResult = Infer<typeof WorkOrderResult>;

// ---------------------------------------------------------------------------------------------------
// Receipts

const signatureRules = string({ minLength: 1, maxLength: 64 });
const receiptStatus = integer({ min: 0, max: 0xffffffff });

export const WorkOrderReceiptCreateParams = object({
  workOrderId: hexId(),
  workerServiceId: hexId(),
  workerId: hexId(),
  requesterId: hexId(),
  receiptCreateStatus: receiptStatus,
  workOrderRequestHash: base64({ maxLength: 256 }),
  requesterGeneratedNonce: string({ minLength: 1, maxLength: 256 }),
  requesterSignature: base64({ maxLength: 512 }),
  signatureRules,
  receiptVerificationKey: pem,
});
export type ReceiptCreate = Infer<typeof WorkOrderReceiptCreateParams>;

export const WorkOrderReceiptUpdateParams = object({
  workOrderId: hexId(),
  updaterId: string({ minLength: 1, maxLength: PEM_MAX }),
  updateType: receiptStatus,
  updateData: string({ maxLength: 1 << 16 }),
  updateSignature: base64({ maxLength: 512 }),
  signatureRules,
  receiptVerificationKey: pem,
});
export type ReceiptUpdate = Infer<typeof WorkOrderReceiptUpdateParams>;

export const WorkOrderReceiptRetrieveParams = object({ workOrderId: hexId() });
export type ReceiptRetrieveResult = ReceiptCreate & { receiptCurrentStatus: number };

export const WorkOrderReceiptUpdateRetrieveParams = object({
  workOrderId: hexId(),
  updaterId: optional(nullable(string({ maxLength: PEM_MAX }))),
  /** 1-based; 0xFFFFFFFF (spec) or 2^32 (Avalon's Python SDK) names the last update. */
  updateIndex: integer({ min: 0, max: 2 ** 32 }),
});
export type ReceiptUpdateRetrieveResult = ReceiptUpdate & { updateCount: number };

const receiptLookUpFields = {
  workerServiceId: optional(hexId()),
  workerId: optional(hexId()),
  requesterId: optional(hexId()),
  receiptStatus: optional(receiptStatus),
};
export const WorkOrderReceiptLookUpParams = object(receiptLookUpFields);
export const WorkOrderReceiptLookUpNextParams = object({
  ...receiptLookUpFields,
  lastLookUpTag: string({ minLength: 1, maxLength: 512 }),
});

// ---------------------------------------------------------------------------------------------------
// Encryption keys

export const EncryptionKeyGetParams = object({
  workerId: hexId(),
  lastUsedKeyNonce: optional(string({ maxLength: 256 })),
  tag: optional(string({ maxLength: 256 })),
  requesterId: optional(string({ maxLength: 256, pattern: /^((0[xX])?[0-9a-fA-F]+)?$/, patternName: 'a hex string or ""' })),
  signatureNonce: optional(string({ maxLength: 256 })),
  signature: optional(string({ maxLength: 512 })),
});

export const EncryptionKeySetParams = object({
  workerId: hexId(),
  encryptionKey: pem,
  encryptionKeyNonce: string({ minLength: 1, maxLength: 256 }),
  tag: string({ maxLength: 256 }),
  signatureNonce: optional(string({ maxLength: 256 })),
  signature: base64({ maxLength: 512 }),
});
export type EncryptionKeySet = Infer<typeof EncryptionKeySetParams>;

/** EncryptionKeyGet result; `signature` (base64 DER) is the worker's over encryptionKeyAnnouncementHash, or over encryptionKeyHash(encryptionKey) when the key has no nonce. */
export interface EncryptionKeyGetResult {
  workerId: string;
  encryptionKey: string;
  encryptionKeyNonce: string;
  tag: string;
  signature: string;
}

// ---------------------------------------------------------------------------------------------------
// The method table

export const METHOD_PARAMS = {
  WorkerRegister: WorkerRegisterParams,
  WorkerUpdate: WorkerUpdateParams,
  WorkerSetStatus: WorkerSetStatusParams,
  WorkerLookUp: WorkerLookUpParams,
  WorkerLookUpNext: WorkerLookUpNextParams,
  WorkerRetrieve: WorkerRetrieveParams,
  WorkOrderSubmit: WorkOrderSubmitParams,
  WorkOrderGetResult: WorkOrderGetResultParams,
  WorkOrderReceiptCreate: WorkOrderReceiptCreateParams,
  WorkOrderReceiptUpdate: WorkOrderReceiptUpdateParams,
  WorkOrderReceiptRetrieve: WorkOrderReceiptRetrieveParams,
  WorkOrderReceiptUpdateRetrieve: WorkOrderReceiptUpdateRetrieveParams,
  WorkOrderReceiptLookUp: WorkOrderReceiptLookUpParams,
  WorkOrderReceiptLookUpNext: WorkOrderReceiptLookUpNextParams,
  EncryptionKeyGet: EncryptionKeyGetParams,
  EncryptionKeySet: EncryptionKeySetParams,
} as const satisfies Record<string, Schema<unknown>>;

export type MethodName = keyof typeof METHOD_PARAMS;
export type MethodParams<M extends MethodName> = Infer<(typeof METHOD_PARAMS)[M]>;

/** What each method answers on success. Receipt create/update answer `null` (Avalon: "error" code 0). */
export interface MethodResults {
  WorkerRegister: null;
  WorkerUpdate: null;
  WorkerSetStatus: null;
  WorkerLookUp: LookUpResult;
  WorkerLookUpNext: LookUpResult;
  WorkerRetrieve: WorkerRetrieveResult;
  WorkOrderSubmit: WorkOrderResult;
  WorkOrderGetResult: WorkOrderResult;
  WorkOrderReceiptCreate: null;
  WorkOrderReceiptUpdate: null;
  WorkOrderReceiptRetrieve: ReceiptRetrieveResult;
  WorkOrderReceiptUpdateRetrieve: ReceiptUpdateRetrieveResult;
  WorkOrderReceiptLookUp: LookUpResult;
  WorkOrderReceiptLookUpNext: LookUpResult;
  EncryptionKeyGet: EncryptionKeyGetResult;
  EncryptionKeySet: null;
}

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHOD_PARAMS, name);
}
