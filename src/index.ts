/**
 * TCF's public library entry: the wire protocol, crypto and both sides of a work order.
 */
export * from './crypto/index.js';
export * from './protocol/index.js';
export * from './workorder/index.js';
