/**
 * Receiving completion notices instead of polling: a small HTTP endpoint whose URI goes into a work
 * order's notifyUri; the TCS POSTs {"workOrderId"} to it when the work order finishes. A notice only
 * says "ask now" — the result is still fetched and verified like any other.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalId } from '../protocol/ids.js';

export class NotifyListener {
  private readonly arrived = new Set<string>();
  /** How many notices have arrived in all. */
  received = 0;
  private readonly waiting = new Map<string, () => void>();

  private constructor(
    private readonly server: http.Server,
    /** The URI to give as notifyUri. */
    readonly uri: string,
  ) {}

  /** Listens on `host` (loopback by default) at a free port. */
  static async start(host = '127.0.0.1'): Promise<NotifyListener> {
    let listener: NotifyListener | undefined;
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 4096) chunks.push(chunk);
      });
      request.on('end', () => {
        try {
          const { workOrderId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { workOrderId?: unknown };
          if (typeof workOrderId === 'string') listener?.receive(workOrderId);
          response.writeHead(204).end();
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const { port } = server.address() as AddressInfo;
    listener = new NotifyListener(server, `http://${host}:${port}/`);
    return listener;
  }

  private receive(workOrderId: string): void {
    this.received += 1;
    const id = canonicalId(workOrderId);
    const wake = this.waiting.get(id);
    if (wake) wake();
    else this.arrived.add(id);
  }

  /** Resolves true when the notice for `workOrderId` arrives, false after `timeoutMs`. */
  waitFor(workOrderId: string, timeoutMs: number): Promise<boolean> {
    const id = canonicalId(workOrderId);
    if (this.arrived.delete(id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(false);
      }, timeoutMs);
      this.waiting.set(id, () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(true);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
