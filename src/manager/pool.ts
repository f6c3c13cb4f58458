/**
 * One worker process as the host sees it: spawn it, hand it its init, send it requests (several may
 * be in flight, matched by request id), enforce each one's deadline, and notice when it dies. The manager decides what to do about failures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ManagerToWorker, WorkerInit, WorkerPublicIdentity, WorkerToManager } from '../enclave/ipc.js';
import type { WorkOrderRequest } from '../protocol/messages.js';

type Processed = Extract<WorkerToManager, { type: 'processed' }>;
type Rotated = Extract<WorkerToManager, { type: 'rotated' }>;

export class WorkerProcessError extends Error {
  override readonly name = 'WorkerProcessError';
  constructor(
    readonly reason: 'timeout' | 'exited' | 'fatal',
    message: string,
  ) {
    super(message);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The entry sits beside this file's folder, with this file's extension (.ts under tsx, .js when built). */
const WORKER_ENTRY = path.join(here, '..', 'enclave', `worker-main${path.extname(fileURLToPath(import.meta.url))}`);
/** A TypeScript entry needs tsx's loader in the child, named by absolute URL so the user's working directory does not matter. */
const WORKER_EXEC_ARGV = WORKER_ENTRY.endsWith('.ts') && !process.execArgv.some((arg) => arg.includes('tsx'))
  ? [...process.execArgv, '--import', import.meta.resolve('tsx')]
  : process.execArgv;

type Pending = { expect: WorkerToManager['type']; resolve: (message: WorkerToManager) => void; reject: (error: Error) => void };
type Request = ManagerToWorker extends infer M ? (M extends ManagerToWorker ? Omit<M, 'requestId'> : never) : never;

export class WorkerProcess {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  /**
   * Set when the IPC channel fails: the process is gone or going even though its 'exit' has not been
   * seen yet, and a lane that took it for running would claim, fail and requeue the same work order
   * in a loop, spending its attempts.
   */
  private channelFailed = false;

  constructor(private readonly init: WorkerInit) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && !this.channelFailed && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs: number): Promise<WorkerPublicIdentity> {
    const child = fork(WORKER_ENTRY, [], { execArgv: WORKER_EXEC_ARGV, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (message: WorkerToManager) => this.receive(message));
    // A send racing the child's death surfaces here; the 'exit' handler below does the recovery.
    child.on('error', (error) => this.channelFailure(error));
    child.on('exit', (code, signal) => {
      this.child = undefined;
      this.failAll(new WorkerProcessError('exited', `worker process exited (${signal ?? `code ${code}`})`));
    });
    const ready = await this.request(this.init, 'ready', timeoutMs);
    return (ready as Extract<WorkerToManager, { type: 'ready' }>).identity;
  }

  async process(workOrderId: string, request: WorkOrderRequest, timeoutMs: number): Promise<Processed> {
    const processed = (await this.request({ type: 'process', workOrderId, request }, 'processed', timeoutMs)) as Processed;
    if (processed.workOrderId !== workOrderId) throw new WorkerProcessError('fatal', `worker answered ${processed.workOrderId} for ${workOrderId}`);
    return processed;
  }

  rotateKey(encryptionKeyNonce: string, tag: string, timeoutMs: number): Promise<Rotated> {
    return this.request({ type: 'rotate-key', encryptionKeyNonce, tag }, 'rotated', timeoutMs) as Promise<Rotated>;
  }

  async reloadKeys(timeoutMs: number): Promise<WorkerPublicIdentity> {
    const ready = await this.request({ type: 'reload-keys' }, 'ready', timeoutMs);
    return (ready as Extract<WorkerToManager, { type: 'ready' }>).identity;
  }

  /** Graceful stop: closing the IPC channel makes the worker exit; SIGKILL if it has not within `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL: a hung workload gets no chance to finish, and the process is replaced. */
  kill(): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  private request(message: Request, expect: WorkerToManager['type'], timeoutMs: number): Promise<WorkerToManager> {
    const child = this.child;
    if (!child || !this.running) return Promise.reject(new WorkerProcessError('exited', 'worker process is not running'));
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new WorkerProcessError('timeout', `worker process did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, {
        expect,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ ...message, requestId } as ManagerToWorker, (error) => {
        if (error) this.channelFailure(error);
      });
    });
  }

  private receive(message: WorkerToManager): void {
    if (message.type === 'fatal') {
      this.failAll(new WorkerProcessError('fatal', message.message));
      return;
    }
    const pending = this.pending.get(message.requestId);
    if (!pending || pending.expect !== message.type) return;
    this.pending.delete(message.requestId);
    pending.resolve(message);
  }

  private channelFailure(error: Error): void {
    this.channelFailed = true;
    this.failAll(new WorkerProcessError('exited', `worker process channel failed: ${error.message}`));
  }

  private failAll(error: WorkerProcessError): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) pending.reject(error);
  }
}
