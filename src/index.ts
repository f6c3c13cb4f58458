/**
 * TCF's public library entry (`import … from 'tcf'`): the wire protocol, crypto, both sides of a
 * work order, attestation checks and the requester SDK.
 */
export * from './crypto/index.js';
export * from './protocol/index.js';
export * from './workorder/index.js';
export * from './attestation/index.js';
export * from './client/index.js';
