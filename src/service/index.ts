/**
 * service/ is the TCS's application logic for every direct-model method (workers, work orders,
 * receipts, encryption keys) over the Store, independent of any transport.
 */
export * from './service.js';
export * from './keys.js';
export * from './receipts.js';
