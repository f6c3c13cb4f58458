/**
 * How the CLI speaks: human lines on stdout, or one JSON document with --json; failures on stderr
 * (or as {"error":…} with --json) with an exit code that says what kind of failure it was.
 */
import { ConfigError } from '../config/index.js';
import { UntrustedWorkerError } from '../attestation/worker-trust.js';
import { ResultTimeoutError } from '../client/client.js';
import { RpcCallError, TransportError } from '../client/rpc-client.js';
import { WorkOrderResultError } from '../workorder/requester.js';
import { CliUsageError } from './context.js';

export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3, UNTRUSTED: 4, PENDING: 6 } as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof TransportError) return ExitCode.UNREACHABLE;
  if (error instanceof UntrustedWorkerError || error instanceof WorkOrderResultError) return ExitCode.UNTRUSTED;
  if (error instanceof ConfigError || error instanceof CliUsageError) return ExitCode.USAGE;
  // A wait that ran out of time leaves the work order running: it is still pending, not failed.
  if (error instanceof ResultTimeoutError) return ExitCode.PENDING;
  return ExitCode.FAILED;
}

export function reportFailure(error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const detail: Record<string, unknown> = { kind: error instanceof Error ? error.name : 'Error', message };
    if (error instanceof RpcCallError) detail.code = error.code;
    if (error instanceof WorkOrderResultError) detail.reason = error.kind;
    process.stdout.write(JSON.stringify({ error: detail }) + '\n');
  } else {
    const prefix = error instanceof RpcCallError ? `error ${error.code}: ` : 'error: ';
    process.stderr.write(`tcf: ${prefix}${message}\n`);
  }
  return code;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function say(line: string): void {
  process.stdout.write(line + '\n');
}
