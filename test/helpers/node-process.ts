/**
 * Starts a real TCS node as a separate OS process (`bin/tcf.js node start --json`) on a free port,
 * the way users run it, and gives tests its URL, pids and a way to stop or kill -9 it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TCF_BIN = path.join(PROJECT_ROOT, 'bin', 'tcf.js');

export interface NodeProcess {
  url: string;
  dataDir: string;
  workers: { name: string; workerId: string }[];
  workerPids: number[];
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tcf-${prefix}-`));
}

/** `command` is the tcf command that runs a node (default `node start`; `connector ethereum` runs one too). */
export async function startNodeProcess(options: { dataDir: string; args?: string[]; env?: Record<string, string>; command?: string[] }): Promise<NodeProcess> {
  const command = options.command ?? ['node', 'start'];
  const child = spawn(process.execPath, [TCF_BIN, ...command, '--port', '0', '--json', '--data-dir', options.dataDir, ...(options.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TCF_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ url: string; workers: NodeProcess['workers']; pids: number[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in 60 s:\n${stderr}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n}\n');
      if (end < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(stdout.slice(0, end + 2)) as { url: string; workers: NodeProcess['workers']; pids: number[] });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before it was ready:\n${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: ready.url,
    dataDir: options.dataDir,
    workers: ready.workers,
    workerPids: ready.pids,
    child,
    logs: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
      // The worker processes lose their IPC channel with the manager and exit on their own.
      for (const pid of ready.pids) await waitForExit(pid);
    },
  };
}

export async function waitForExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface TcfRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `tcf` binary and collects its exit code and output. */
export function tcf(args: string[], env: Record<string, string>): Promise<TcfRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TCF_BIN, ...args], { env: { ...process.env, TCF_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
