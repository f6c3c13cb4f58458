/**
 * The JSON-RPC 2.0 envelope around the direct-model methods: parsing a request object into a checked
 * method call, and shaping success and error responses. Batches are arrays of such objects.
 */
import { ErrorCode, TcfError, type RpcErrorObject } from './errors.js';
import { isMethodName, METHOD_PARAMS, type MethodName, type MethodParams } from './messages.js';

export type RpcId = string | number | null;

export interface RpcRequest {
  jsonrpc: '2.0';
  id?: RpcId;
  method: string;
  params?: unknown;
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export type CheckedCall = { [M in MethodName]: { id: RpcId; method: M; params: MethodParams<M> } }[MethodName];

/**
 * A number id must be an integer JavaScript holds exactly (|id| ≤ 2^53 − 1): a larger one, or a fraction,
 * would be answered with another number than the client sent (2^64 came back as 18446744073709552000),
 * and the client could not match the answer. JSON-RPC asks for integer ids anyway.
 */
export function isRpcId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
}

/** The id to answer with: the request's own when it is well-formed, else null (JSON-RPC §5). */
export function responseId(request: unknown): RpcId {
  if (typeof request === 'object' && request !== null && !Array.isArray(request)) {
    const id = (request as Record<string, unknown>).id;
    if (isRpcId(id)) return id;
  }
  return null;
}

/** Checks the envelope and the method's params; throws TcfError with the JSON-RPC or spec code. */
export function checkCall(request: unknown): CheckedCall {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new TcfError(ErrorCode.INVALID_REQUEST, 'a JSON-RPC request must be an object');
  }
  const envelope = request as Record<string, unknown>;
  if (envelope.jsonrpc !== '2.0') throw new TcfError(ErrorCode.INVALID_REQUEST, 'jsonrpc: must be "2.0"');
  if (envelope.id !== undefined && !isRpcId(envelope.id)) throw new TcfError(ErrorCode.INVALID_REQUEST, 'id: must be a string, an integer within ±(2^53 − 1) or null');
  if (typeof envelope.method !== 'string') throw new TcfError(ErrorCode.INVALID_REQUEST, 'method: must be a string');
  for (const key of Object.keys(envelope)) {
    if (key !== 'jsonrpc' && key !== 'id' && key !== 'method' && key !== 'params') {
      throw new TcfError(ErrorCode.INVALID_REQUEST, `${key}: is not a field of a JSON-RPC request`);
    }
  }
  const method = envelope.method;
  if (!isMethodName(method)) throw new TcfError(ErrorCode.METHOD_NOT_FOUND, `method: ${JSON.stringify(method.slice(0, 64))} is not a method of this service`);
  const params = METHOD_PARAMS[method].check(envelope.params ?? {}, 'params');
  return { id: (envelope.id ?? null) as RpcId, method, params } as CheckedCall;
}

export function successResponse(id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function errorResponse(id: RpcId, error: TcfError | RpcErrorObject): RpcResponse {
  return { jsonrpc: '2.0', id, error: error instanceof TcfError ? error.toRpcError() : error };
}
