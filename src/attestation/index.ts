/**
 * attestation/ owns the evidence that binds a worker's keys to its TEE, and the decision to trust a
 * worker: the pure verifiers of each TEE's evidence (SGX and TDX DCAP, SEV-SNP, Nitro, IAS) and the
 * simulated TEE's, the binding recipe, the evidence envelope, trust policies, the evidence providers a
 * worker uses to obtain evidence, and the checks a requester runs before it encrypts anything.
 */
export * from './binding.js';
export * from './envelope.js';
export * from './evidence.js';
export * from './hardware-verifier.js';
export * from './policy.js';
export * from './simulated.js';
export * from './verdict.js';
export * from './verify.js';
export * from './worker-trust.js';
