/**
 * The listener: JSON-RPC 2.0 over HTTP in front of the TcsService. It owns the transport concerns
 * only — body limits, JSON parsing, batches, notifications, operator authentication, health and
 * metrics — and never lets a malformed request reach a handler or crash the process.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import { ErrorCode, TcfError } from '../protocol/errors.js';
import { checkCall, errorResponse, responseId, type RpcResponse } from '../protocol/rpc.js';
import type { Logger } from '../log/index.js';
import type { TcsService } from '../service/service.js';
import { Metrics } from './metrics.js';

export interface ListenerOptions {
  host: string;
  port: number;
  /** PEM certificate chain and key files: serve HTTPS. Empty: plain HTTP (loopback or behind a TLS proxy). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  bodyLimitBytes: number;
  operatorToken: string;
  /** Largest number of calls in one batch. */
  maxBatch?: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class Listener {
  private server: http.Server | undefined;
  readonly metrics = new Metrics();

  constructor(
    private readonly service: TcsService,
    private readonly options: ListenerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<string> {
    const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => {
        this.log.error('unhandled listener error', { error: String(error) });
        if (!response.headersSent) send(response, 500, errorResponse(null, { code: ErrorCode.INTERNAL_ERROR, message: 'internal error' }));
      });
    };
    const { tlsCertFile, tlsKeyFile } = this.options;
    const server = tlsCertFile && tlsKeyFile
      ? https.createServer({ cert: fs.readFileSync(tlsCertFile), key: fs.readFileSync(tlsKeyFile) }, onRequest)
      : http.createServer(onRequest);
    server.keepAliveTimeout = 65_000;
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
    if (request.method === 'GET' && request.url === '/health') return sendText(response, 200, 'ok\n');
    if (request.method === 'GET' && request.url === '/metrics') return sendText(response, 200, this.metrics.render());
    if (request.method !== 'POST') {
      return send(response, 405, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message: 'only POST carries JSON-RPC requests (GET /health and /metrics exist)' }));
    }
    const body = await readBody(request, this.options.bodyLimitBytes);
    if (body === 'too-large') {
      this.metrics.count('rejected_too_large');
      return send(response, 413, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message: `request body exceeds ${this.options.bodyLimitBytes} bytes` }));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Decoder.decode(body));
    } catch {
      this.metrics.count('parse_errors');
      return send(response, 200, errorResponse(null, { code: ErrorCode.PARSE_ERROR, message: 'request body is not valid UTF-8 JSON' }));
    }
    const operator = this.isOperator(request);
    if (Array.isArray(parsed)) {
      const maxBatch = this.options.maxBatch ?? 100;
      if (parsed.length === 0 || parsed.length > maxBatch) {
        return send(response, 200, errorResponse(null, { code: ErrorCode.INVALID_REQUEST, message: `a batch holds 1–${maxBatch} calls` }));
      }
      const answers = await Promise.all(parsed.map((entry) => this.answer(entry, operator)));
      const replies = answers.filter((answer): answer is RpcResponse => answer !== undefined);
      if (replies.length === 0) return sendEmpty(response);
      return send(response, 200, replies);
    }
    const answer = await this.answer(parsed, operator);
    if (!answer) return sendEmpty(response);
    return send(response, 200, answer);
  }

  /** One call: undefined for a notification (no id), which JSON-RPC answers with nothing. */
  private async answer(entry: unknown, operator: boolean): Promise<RpcResponse | undefined> {
    const started = performance.now();
    const id = responseId(entry);
    const isNotification = typeof entry === 'object' && entry !== null && !Array.isArray(entry) && !('id' in entry);
    let reply: RpcResponse;
    let method = 'invalid';
    try {
      const call = checkCall(entry);
      method = call.method;
      const outcome = await this.service.call(call, { operator });
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
    return isNotification ? undefined : reply;
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

function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks, size)));
    request.on('error', reject);
  });
}

function send(response: http.ServerResponse, status: number, payload: unknown): void {
  // Encoded once: measuring the string's UTF-8 length and then writing it would encode a large result twice.
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  response.end(body);
}

function sendText(response: http.ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendEmpty(response: http.ServerResponse): void {
  response.writeHead(204);
  response.end();
}
