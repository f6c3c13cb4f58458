/**
 * client/ is the requester's SDK: TcfClient, which verifies workers before use and opens results end
 * to end, over a RequesterBackend — a TCS's JSON-RPC listener (DirectBackend, on the typed
 * JsonRpcClient) or a ledger (proxy/ethereum) — and NotifyListener for completion notices.
 */
export * from './rpc-client.js';
export * from './backend.js';
export * from './client.js';
export * from './notify.js';
