/**
 * proxy/ethereum/ owns TCF's Ethereum side of the proxy model: the Solidity registries' deployment
 * (their sources are contracts/*.sol, compiled by compile.ts into build/contracts.json),
 * the typed EthereumLedger client that reads and writes them with the protocol's wire messages, and a
 * local anvil node for tests and demos. It talks to a chain only through ethers; the connector that
 * bridges the chain to a node builds on it.
 */
export * from './anvil.js';
export * from './artifacts.js';
export * from './compile.js';
export * from './deploy.js';
export * from './ledger.js';
export * from './requester-backend.js';
export * from './connector.js';
export * from './connect.js';
