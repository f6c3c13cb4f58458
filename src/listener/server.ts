/**
 * The listener: JSON-RPC 2.0 over HTTP in front of the TcsService. It owns the transport concerns
 * only — body limits, JSON parsing, batches, notifications, operator authentication, health and
 * metrics — and never lets a malformed request reach a handler or crash the process. It also keeps
 * what one client can cost bounded: calls per batch, bytes per answer, time to send a request and to
 * take an answer, and open connections.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import { defaultConfig, type NodeConfig } from '../config/index.js';
import { ErrorCode, TcfError } from '../protocol/errors.js';
import { checkCall, errorResponse, responseId, type RpcId, type RpcResponse } from '../protocol/rpc.js';
import type { Logger } from '../log/index.js';
import type { CallContext, TcsService } from '../service/service.js';
import { Metrics } from './metrics.js';

type TransportLimits = Pick<
  NodeConfig['listener'],
  'maxBatchCalls' | 'maxAnswerBytes' | 'writeTimeoutMs' | 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs' | 'maxConnections'
>;

/** The transport limits default to those of the node configuration (docs/configuration.md). */
export interface ListenerOptions extends Partial<TransportLimits> {
  host: string;
  port: number;
  /** PEM certificate chain and key files: serve HTTPS. Empty: plain HTTP (loopback or behind a TLS proxy). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  bodyLimitBytes: number;
  operatorToken: string;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; version=0.0.4';
/**
 * Calls of one batch answered at a time. All at once, a batch of reads of one large result would hold
 * that result once per call before any answer could be measured; a few lanes still let a batch of
 * submissions share store commits.
 */
const BATCH_LANES = 16;
/** An answer goes out in slices of this size, so the write timeout measures a client's progress, not the whole answer. */
const WRITE_SLICE_BYTES = 256 * 1024;
const OPEN_BRACKET = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE_BRACKET = Buffer.from(']');

export class Listener {
  private server: http.Server | undefined;
  readonly metrics = new Metrics();
  private readonly limits: TransportLimits;

  constructor(
    private readonly service: TcsService,
    private readonly options: ListenerOptions,
    private readonly log: Logger,
  ) {
    const defaults = defaultConfig().listener;
    this.limits = {
      maxBatchCalls: options.maxBatchCalls ?? defaults.maxBatchCalls,
      maxAnswerBytes: options.maxAnswerBytes ?? defaults.maxAnswerBytes,
      writeTimeoutMs: options.writeTimeoutMs ?? defaults.writeTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs ?? defaults.headersTimeoutMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? defaults.keepAliveTimeoutMs,
      maxConnections: options.maxConnections ?? defaults.maxConnections,
    };
  }

  async start(): Promise<string> {
    const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => {
        this.log.error('unhandled listener error', { error: String(error) });
        if (!response.headersSent) {
          const body = Buffer.from(JSON.stringify(errorResponse(null, { code: ErrorCode.INTERNAL_ERROR, message: 'internal error' })));
          response.writeHead(500, { 'content-type': JSON_TYPE, 'content-length': body.length }).end(body);
        }
      });
    };
    const limits = this.limits;
    const serverOptions: http.ServerOptions = {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // Node enforces the two timeouts above only when it checks its connections, every 30 s by
      // default; checking at a quarter of the shorter one keeps a deadline from being overrun by much.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    };
    const { tlsCertFile, tlsKeyFile } = this.options;
    const server = tlsCertFile && tlsKeyFile
      ? https.createServer({ ...serverOptions, cert: fs.readFileSync(tlsCertFile), key: fs.readFileSync(tlsKeyFile) }, onRequest)
      : http.createServer(serverOptions, onRequest);
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: http.IncomingMessage['socket']) => {
      this.metrics.connectionOpened();
      socket.once('close', () => this.metrics.connectionClosed());
    });
    server.on('drop', () => this.metrics.refusedConnections.add());
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('listener is not started');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.server instanceof https.Server ? 'https' : 'http'}://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (request.method === 'GET' && request.url === '/health') return this.deliver(response, 200, TEXT_TYPE, [Buffer.from('ok\n')]);
    if (request.method === 'GET' && request.url === '/metrics') return this.deliver(response, 200, TEXT_TYPE, [Buffer.from(this.metrics.render())]);
    if (request.method !== 'POST') {
      return this.sendJson(response, 405, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message: 'only POST carries JSON-RPC requests (GET /health and /metrics exist)' }));
    }
    const body = await readBody(request, this.options.bodyLimitBytes);
    if (body === 'incomplete') {
      this.metrics.count('incomplete_body');
      return;
    }
    if (body === 'too-large') {
      this.metrics.count('rejected_too_large');
      // The rest of the body is never read: whatever size was declared or is still coming, the
      // connection ends with the 413, so an endless body costs the node nothing more.
      response.setHeader('connection', 'close');
      await this.sendJson(response, 413, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message: `request body exceeds ${this.options.bodyLimitBytes} bytes` }));
      request.socket.destroy();
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Decoder.decode(body));
    } catch {
      this.metrics.count('parse_errors');
      return this.sendJson(response, 200, errorResponse(null, { code: ErrorCode.PARSE_ERROR, message: 'request body is not valid UTF-8 JSON' }));
    }
    const context: CallContext = { operator: this.isOperator(request), client: request.socket.remoteAddress ?? '' };
    if (Array.isArray(parsed)) {
      const { maxBatchCalls } = this.limits;
      if (parsed.length === 0 || parsed.length > maxBatchCalls) {
        this.metrics.count('rejected_batch_size');
        const message = `a batch holds 1–${maxBatchCalls} calls (listener.maxBatchCalls); this one holds ${parsed.length}`;
        return this.sendJson(response, 200, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message }));
      }
      const replies = await this.answerBatch(parsed, context);
      if (replies.length === 0) return sendEmpty(response);
      const parts = [OPEN_BRACKET, ...replies.flatMap((reply, index) => (index === 0 ? [reply] : [COMMA, reply])), CLOSE_BRACKET];
      return this.deliver(response, 200, JSON_TYPE, parts);
    }
    const answer = await this.answer(parsed, context);
    if (!answer) return sendEmpty(response);
    return this.deliver(response, 200, JSON_TYPE, [this.fit(answer, new AnswerBudget(this.limits.maxAnswerBytes))]);
  }

  /**
   * A batch's encoded replies in call order, within listener.maxAnswerBytes. A reply that does not
   * fit is replaced by an "answer too large" error, and calls not yet started then are not run, so
   * that neither the answer nor the results held to build it grow past the budget. The replies are
   * measured as calls finish, so which of several equal results fit follows their finishing order.
   */
  private async answerBatch(calls: unknown[], context: CallContext): Promise<Buffer[]> {
    const budget = new AnswerBudget(this.limits.maxAnswerBytes);
    const replies: (Buffer | undefined)[] = new Array(calls.length);
    let next = 0;
    const lane = async () => {
      for (let index = next++; index < calls.length; index = next++) {
        const call = calls[index];
        // A notification adds nothing to the answer, so it runs whatever the budget.
        if (budget.exhausted && !isNotification(call)) {
          replies[index] = this.cutForSize(responseId(call), `the answer reached listener.maxAnswerBytes (${budget.maxBytes} bytes) before this call started, so it was not run`);
          continue;
        }
        const reply = await this.answer(call, context);
        if (reply) replies[index] = this.fit(reply, budget);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_LANES, calls.length) }, lane));
    return replies.filter((reply): reply is Buffer => reply !== undefined);
  }

  /** The reply encoded, or an "answer too large" error in its place when it does not fit the budget. */
  private fit(reply: RpcResponse, budget: AnswerBudget): Buffer {
    let encoded: Buffer | undefined;
    try {
      encoded = Buffer.from(JSON.stringify(reply), 'utf8');
    } catch (error) {
      // A result too large for one JavaScript string is too large for any answer.
      if (!(error instanceof RangeError)) throw error;
    }
    if (encoded && budget.take(encoded.length)) return encoded;
    const size = encoded ? `(${encoded.length} bytes) ` : '';
    return this.cutForSize(reply.id, `this call's answer ${size}would take the answer past listener.maxAnswerBytes (${budget.maxBytes} bytes), so it was dropped (the call itself was carried out)`);
  }

  private cutForSize(id: RpcId, why: string): Buffer {
    this.metrics.callsCutForSize.add();
    return Buffer.from(JSON.stringify(errorResponse(id, { code: ErrorCode.INTERNAL_ERROR, message: `answer too large: ${why}; fetch fewer results per batch` })), 'utf8');
  }

  private sendJson(response: http.ServerResponse, status: number, payload: unknown): Promise<void> {
    return this.deliver(response, status, JSON_TYPE, [Buffer.from(JSON.stringify(payload), 'utf8')]);
  }

  /**
   * Writes an answer slice by slice, waiting for the client to take each one. A client that takes
   * none for listener.writeTimeoutMs loses its connection, which frees the answer it was holding.
   */
  private async deliver(response: http.ServerResponse, status: number, contentType: string, parts: readonly Buffer[]): Promise<void> {
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    response.writeHead(status, { 'content-type': contentType, 'content-length': length });
    for (const slice of slices(parts)) {
      if (!response.write(slice) && !(await this.taken(response, 'drain'))) return;
    }
    response.end();
    if (!response.writableFinished) await this.taken(response, 'finish');
  }

  /** Resolves true once the response emits `event`, false if the connection closed or was destroyed for a slow reader. */
  private taken(response: http.ServerResponse, event: 'drain' | 'finish'): Promise<boolean> {
    const socket = response.req.socket;
    if (socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (moved: boolean) => {
        clearTimeout(timer);
        response.off(event, onMoved);
        response.off('close', onClosed);
        resolve(moved);
      };
      const onMoved = () => settle(true);
      const onClosed = () => settle(false);
      const timer = setTimeout(() => {
        if (!socket.destroyed) {
          this.metrics.slowReadersDestroyed.add();
          socket.destroy();
        }
        settle(false);
      }, this.limits.writeTimeoutMs);
      response.once(event, onMoved);
      response.once('close', onClosed);
    });
  }

  /** One call: undefined for a notification (no id), which JSON-RPC answers with nothing. */
  private async answer(entry: unknown, context: CallContext): Promise<RpcResponse | undefined> {
    const started = performance.now();
    const id = responseId(entry);
    let reply: RpcResponse;
    let method = 'invalid';
    try {
      const call = checkCall(entry);
      method = call.method;
      const outcome = await this.service.call(call, context);
      reply = 'result' in outcome ? { jsonrpc: '2.0', id, result: outcome.result } : { jsonrpc: '2.0', id, error: outcome.error };
    } catch (error) {
      if (!(error instanceof TcfError)) {
        this.log.error('handler failed', { method, error: (error as Error).stack ?? String(error) });
      }
      reply = errorResponse(
        id,
        error instanceof TcfError
          ? error
          : { code: ErrorCode.INTERNAL_ERROR, message: 'internal error: the service could not complete this call (its log says why); a work order it refused this way was not accepted' },
      );
    }
    this.metrics.observe(method, 'error' in reply ? reply.error.code : 'ok', performance.now() - started);
    return isNotification(entry) ? undefined : reply;
  }

  private isOperator(request: http.IncomingMessage): boolean {
    const token = this.options.operatorToken;
    const header = request.headers.authorization;
    if (!token || !header?.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice('Bearer '.length));
    const expected = Buffer.from(token);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }
}

/** Bytes of replies one answer may still take. */
class AnswerBudget {
  private usedBytes = 0;
  exhausted = false;

  constructor(readonly maxBytes: number) {}

  /**
   * Counts `bytes` (and the separator before them) if they fit. The first reply that does not fit
   * exhausts the budget: no further call starts, but a call already running keeps its answer if it fits.
   */
  take(bytes: number): boolean {
    if (this.usedBytes + bytes + 1 <= this.maxBytes) {
      this.usedBytes += bytes + 1;
      return true;
    }
    this.exhausted = true;
    return false;
  }
}

function isNotification(call: unknown): boolean {
  return typeof call === 'object' && call !== null && !Array.isArray(call) && !('id' in call);
}

/**
 * The request body; 'too-large' as soon as it is declared or seen to pass the limit (nothing more is
 * read), 'incomplete' when the connection closed first (the client gave up, or listener.requestTimeoutMs cut it).
 */
function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'incomplete'> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: Buffer | 'too-large' | 'incomplete') => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('close', onIncomplete);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.pause();
      settle('too-large');
    };
    const onEnd = () => settle(Buffer.concat(chunks, size));
    const onIncomplete = () => settle('incomplete');
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('close', onIncomplete);
    // Node raises an aborted body as an error only to listeners; 'close' settles it.
    request.on('error', () => {});
  });
}

/** The parts as slices of at most WRITE_SLICE_BYTES, small parts joined and large ones split without copying. */
function* slices(parts: readonly Buffer[]): Generator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    const slice = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return slice;
  };
  for (const part of parts) {
    for (let offset = 0; offset < part.length; ) {
      const take = Math.min(part.length - offset, WRITE_SLICE_BYTES - pendingBytes);
      pending.push(part.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === WRITE_SLICE_BYTES) yield flush();
    }
  }
  if (pendingBytes > 0) yield flush();
}

function sendEmpty(response: http.ServerResponse): void {
  response.writeHead(204);
  response.end();
}
