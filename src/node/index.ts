/**
 * node/ composes a TCS from its parts (store, listener, enclave manager) according to its role.
 */
export * from './node.js';
