/**
 * The error and status codes of the EEA Off-Chain Trusted Compute Specification (§ error codes),
 * as Avalon numbers them, plus the JSON-RPC 2.0 envelope codes. Every failure that crosses the wire
 * is a TcfError carrying one of these codes and a message that names the offending field.
 */

export const ErrorCode = {
  SUCCESS: 0,
  UNKNOWN_ERROR: 1,
  INVALID_PARAMETER: 2,
  ACCESS_DENIED: 3,
  INVALID_SIGNATURE: 4,
  /** For lookups the spec calls code 5 NO_MORE_LOOKUP_RESULTS; for work orders it is PENDING. */
  NO_MORE_LOOKUP_RESULTS: 5,
  PENDING: 5,
  UNSUPPORTED_MODE: 6,
  SCHEDULED: 6,
  PROCESSING: 7,
  BUSY: 8,
  INVALID_WORKLOAD: 9,
  WORK_ORDER_UNKNOWN_ERROR: 10,
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INTERNAL_ERROR: -32603,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export class TcfError extends Error {
  override readonly name = 'TcfError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  toRpcError(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function invalidParameter(field: string, problem: string): TcfError {
  return new TcfError(ErrorCode.INVALID_PARAMETER, `${field}: ${problem}`);
}

/** Worker status values (spec and Avalon SDK). */
export const WorkerStatus = { ACTIVE: 1, OFF_LINE: 2, DECOMMISSIONED: 3, COMPROMISED: 4 } as const;

/** The spec's name for a worker status, or the number when it names none. */
export function workerStatusName(status: number): string {
  return Object.entries(WorkerStatus).find(([, value]) => value === status)?.[0] ?? `unknown status ${status}`;
}

/** Worker types (spec): TEE, MPC, ZK. */
export const WorkerType = { TEE_SGX: 1, MPC: 2, ZK: 3 } as const;

/** Receipt create/update status (spec); 5–254 reserved, 255 "any" in lookups, above 255 application-specific. */
export const ReceiptStatus = { PENDING: 0, COMPLETED: 1, PROCESSED: 2, FAILED: 3, REJECTED: 4, ANY: 255 } as const;

/** The index that names "the last update" in WorkOrderReceiptUpdateRetrieve (spec and Solidity: 0xFFFFFFFF). */
export const LAST_RECEIPT_UPDATE = 0xffffffff;
