/**
 * enclave/ is the code that runs inside a worker (a simulated TEE here): the worker process entry
 * (worker-main.ts), sealing of its keys, and the IPC contract with the host's enclave manager. Its
 * source files are part of the worker's measurement.
 */
export * from './ipc.js';
export { measureWorkerCode } from './sealing.js';
