/**
 * Certificate chains and CRLs judged at a given time, on node:crypto alone. Every vendor chain
 * (Intel SGX, AMD SEV, AWS Nitro, Intel IAS) ends at a root pinned in roots.ts: a chain is trusted
 * only when its top certificate is, byte for byte, one of the roots the caller passes, or is signed
 * by one. Nothing here reads the clock: the time is always the caller's.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { AttestationError } from './verdict.js';
import { bitStringBytes, children, decodeOid, decodeTime, expectTag, integerHex, parseDer, TAG, type DerNode } from './der.js';

/** Reads one or more certificates from PEM text, or one from DER bytes. */
export function parseCertificates(input: string | Buffer): X509Certificate[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
  }
  return [new X509Certificate(typeof input === 'string' ? Buffer.from(input, 'latin1') : input)];
}

function describe(certificate: X509Certificate): string {
  const commonName = /CN=([^\n]+)/.exec(certificate.subject)?.[1];
  return commonName ? `"${commonName}"` : `"${certificate.subject.replace(/\n/g, ', ')}"`;
}

function assertValidAt(certificate: X509Certificate, at: Date): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (at < from) throw new AttestationError(`certificate ${describe(certificate)} is not valid until ${from.toISOString()}`);
  if (at > to) throw new AttestationError(`certificate ${describe(certificate)} expired at ${to.toISOString()}`);
}

function signedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function isSameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}

/**
 * Verifies `chain` (leaf first; the root may be included or left out) at time `at` against the pinned
 * `roots`: every certificate valid at `at`, each signed by the next, every issuer a CA, and the path
 * ending at a pinned root. Returns the full path, leaf to root. Throws AttestationError with the reason.
 */
export function verifyChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[], at: Date): X509Certificate[] {
  if (chain.length === 0) throw new AttestationError('no certificate chain');
  const path: X509Certificate[] = [];
  for (let index = 0; index < chain.length; index += 1) {
    const certificate = chain[index] as X509Certificate;
    path.push(certificate);
    assertValidAt(certificate, at);
    const pinned = roots.find((root) => isSameCertificate(root, certificate));
    if (pinned) {
      if (!signedBy(pinned, pinned)) throw new AttestationError(`pinned root ${describe(pinned)} is not self-signed`);
      return path;
    }
    const next = chain[index + 1];
    if (next) {
      if (!next.ca) throw new AttestationError(`certificate ${describe(next)} issues ${describe(certificate)} but is not a CA`);
      if (!signedBy(certificate, next)) throw new AttestationError(`certificate ${describe(certificate)} is not signed by ${describe(next)}`);
      continue;
    }
    const root = roots.find((candidate) => signedBy(certificate, candidate));
    if (!root) throw new AttestationError(`certificate chain ends at ${describe(certificate)}, which is not a pinned root nor signed by one`);
    assertValidAt(root, at);
    path.push(root);
    return path;
  }
  throw new AttestationError('unreachable: chain walk ended without a root');
}

const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
};

export interface Crl {
  issuerDer: Buffer;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers, lowercase hex without leading zero bytes. */
  revokedSerials: Set<string>;
  tbsDer: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
}

/** Reads a CRL from DER bytes, hex text (Intel's PCS/PCCS form) or PEM. */
export function parseCrl(input: Buffer | string): Crl {
  let der: Buffer;
  if (typeof input !== 'string') der = input;
  else if (input.includes('-----BEGIN X509 CRL-----')) der = Buffer.from(input.replace(/-----(BEGIN|END) X509 CRL-----|\s/g, ''), 'base64');
  else if (/^([0-9a-fA-F]{2})+$/.test(input.trim())) der = Buffer.from(input.trim(), 'hex');
  else throw new AttestationError('CRL is neither DER, hex nor PEM');
  try {
    const [tbs, algorithm, signature] = children(parseDer(der));
    const fields = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertList'));
    let position = fields[0]?.tag === TAG.INTEGER ? 1 : 0;
    position += 1; // signature algorithm inside the TBS
    const issuer = expectTag(fields[position++], TAG.SEQUENCE, 'CRL issuer');
    const thisUpdate = decodeTime(fields[position++] as DerNode);
    let nextUpdate: Date | undefined;
    const maybeNext = fields[position];
    if (maybeNext && (maybeNext.tag === TAG.UTC_TIME || maybeNext.tag === TAG.GENERALIZED_TIME)) {
      nextUpdate = decodeTime(maybeNext);
      position += 1;
    }
    const revokedSerials = new Set<string>();
    const revoked = fields[position];
    if (revoked && revoked.tag === TAG.SEQUENCE) {
      for (const entry of children(revoked)) revokedSerials.add(integerHex(children(entry)[0] as DerNode));
    }
    return {
      issuerDer: issuer.raw,
      thisUpdate,
      nextUpdate,
      revokedSerials,
      tbsDer: (tbs as DerNode).raw,
      signatureAlgorithm: decodeOid(children(expectTag(algorithm, TAG.SEQUENCE, 'CRL signature algorithm'))[0] as DerNode),
      signature: bitStringBytes(signature as DerNode),
    };
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError(`CRL cannot be parsed: ${(error as Error).message}`);
  }
}

/** The DER subject and issuer Names and the serial of a certificate (what CRLs refer to). */
export function certificateIdentity(certificate: X509Certificate): { serial: string; issuerDer: Buffer; subjectDer: Buffer } {
  const tbs = children(children(parseDer(certificate.raw))[0] as DerNode);
  const offset = tbs[0]?.tag === 0xa0 ? 1 : 0;
  return {
    serial: integerHex(tbs[offset] as DerNode),
    issuerDer: (tbs[offset + 2] as DerNode).raw,
    subjectDer: (tbs[offset + 4] as DerNode).raw,
  };
}

/**
 * Checks that `crl` was issued by `issuer` (name and signature), is current at `at`, and does not list
 * any of `certificates`. Throws AttestationError naming what failed.
 */
export function checkCrl(crl: Crl, issuer: X509Certificate, certificates: readonly X509Certificate[], at: Date, what: string): void {
  if (!crl.issuerDer.equals(certificateIdentity(issuer).subjectDer)) {
    throw new AttestationError(`${what} was not issued by ${describe(issuer)}`);
  }
  const hash = SIGNATURE_HASHES[crl.signatureAlgorithm];
  if (!hash) throw new AttestationError(`${what}: unsupported signature algorithm ${crl.signatureAlgorithm}`);
  if (!crypto.verify(hash, crl.tbsDer, issuer.publicKey, crl.signature)) {
    throw new AttestationError(`${what}: signature does not verify with ${describe(issuer)}`);
  }
  if (at < crl.thisUpdate) throw new AttestationError(`${what} is not valid until ${crl.thisUpdate.toISOString()}`);
  if (crl.nextUpdate && at > crl.nextUpdate) throw new AttestationError(`${what} expired at ${crl.nextUpdate.toISOString()} (collateral is stale)`);
  for (const certificate of certificates) {
    if (crl.revokedSerials.has(certificateIdentity(certificate).serial)) {
      throw new AttestationError(`certificate ${describe(certificate)} is revoked by ${what}`);
    }
  }
}
