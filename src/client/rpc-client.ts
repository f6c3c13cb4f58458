/**
 * A typed JSON-RPC client for the direct model: one `call` per method, with params and results typed
 * by the protocol's method table. The spec's generic response (error code 0) is success and
 * resolves to null; every other error becomes an RpcCallError carrying the spec code.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { MethodName, MethodParams, MethodResults } from '../protocol/messages.js';

export class RpcCallError extends Error {
  override readonly name = 'RpcCallError';
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The TCS could not be reached or answered something that is not JSON-RPC. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/** Why fetch() failed, in a word where there is one (ECONNREFUSED, ENOTFOUND, …): fetch's own message is only "fetch failed". */
export function fetchFailureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message;
}

export interface RpcClientOptions {
  /** Sent as a bearer token: needed only for the operator methods. */
  operatorToken?: string;
  /** Per-call HTTP timeout. */
  timeoutMs?: number;
}

export class JsonRpcClient {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly options: RpcClientOptions = {},
  ) {}

  async call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResults[M]> {
    const id = this.nextId++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.operatorToken) headers.authorization = `Bearer ${this.options.operatorToken}`;
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
    } catch (error) {
      throw new TransportError(`cannot reach the TCS at ${this.url} (${fetchFailureReason(error)})`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new TransportError(`the TCS at ${this.url} answered HTTP ${response.status} without JSON`);
    }
    if (typeof body !== 'object' || body === null) throw new TransportError(`the TCS at ${this.url} answered a non-object`);
    const reply = body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    if (reply.error) {
      const code = typeof reply.error.code === 'number' ? reply.error.code : ErrorCode.UNKNOWN_ERROR;
      if (code === ErrorCode.SUCCESS) return null as MethodResults[M];
      throw new RpcCallError(method, code, String(reply.error.message ?? 'error'), reply.error.data);
    }
    if (!('result' in reply)) throw new TransportError(`the TCS at ${this.url} answered without result or error`);
    return reply.result as MethodResults[M];
  }
}
