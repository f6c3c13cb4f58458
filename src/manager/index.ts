/**
 * manager/ is the host side of the enclaves: worker processes (pool.ts) and the enclave manager that
 * feeds them work orders from the store and records outcomes exactly once.
 */
export * from './manager.js';
export * from './pool.js';
