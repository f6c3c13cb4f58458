/**
 * client/ is the requester's SDK for a TCS: a typed JSON-RPC client and TcfClient, which verifies
 * workers before use and opens results end to end.
 */
export * from './rpc-client.js';
export * from './client.js';
export * from './notify.js';
