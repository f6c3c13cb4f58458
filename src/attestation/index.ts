/**
 * attestation/ owns the evidence that binds a worker's keys to its TEE, and the decision to trust a
 * worker: the AttestationVerifier boundary, the simulated TEE (which says what it is and never passes
 * a hardware policy), and the key-binding checks a requester runs before use.
 */
export * from './evidence.js';
export * from './simulated.js';
export * from './worker-trust.js';
