/**
 * workloads/ owns what runs inside a worker after the inputs are decrypted: the Workload contract
 * (workload.ts), the registry that maps a work order's workloadId to a workload (registry.ts), the
 * inside-out I/O plug-in through which workloads reach data the TCS hosts (external-io.ts), and
 * ports of Avalon's example workloads: echo-result, heart-disease-eval and inside-out-eval.
 */
export * from './echo.js';
export * from './external-io.js';
export * from './heart-disease-eval.js';
export * from './inside-out-eval.js';
export * from './registry.js';
export type * from './workload.js';
