/**
 * protocol/ is the one definition of TCF's wire format: the spec's messages and their validation,
 * the error codes, the JSON-RPC envelope and the hash recipes that signatures cover. Server, client
 * and ledger connectors all import it; nothing else defines a message shape.
 */
export * from './errors.js';
export * from './schema.js';
export * from './messages.js';
export * from './hashing.js';
export * from './rpc.js';
export * from './ids.js';
