/**
 * workorder/ holds both halves of the end-to-end work-order protocol: the requester builds and opens
 * (requester.ts), the worker opens and seals (worker.ts), and items.ts is what they share about one
 * data item. Pure functions over protocol/ and crypto/.
 */
export * from './items.js';
export * from './requester.js';
export * from './worker.js';
