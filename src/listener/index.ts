/**
 * listener/ is the direct model's HTTP edge: JSON-RPC 2.0 transport, limits, operator
 * authentication and metrics in front of service/.
 */
export * from './server.js';
export * from './metrics.js';
