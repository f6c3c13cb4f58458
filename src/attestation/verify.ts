/**
 * One entry for judging hardware evidence of any type: picks the verifier for the type and hands it
 * exactly what that type needs (collateral for DCAP quotes, the certificate chain for SEV-SNP reports).
 * Pure like the verifiers it calls: the time and the pinned roots are parameters.
 */
import type { X509Certificate } from 'node:crypto';
import { dcapCollateralRequest, verifyDcapQuote, type DcapCollateral } from './dcap.js';
import type { HardwareEvidenceType } from './envelope.js';
import { parseIasEvidence, verifyIasReport } from './ias.js';
import { verifyNitroDocument } from './nitro.js';
import { parseSevSnpCertificates, verifySevSnpReport } from './sev-snp.js';
import { emptyVerdict, type Verdict } from './verdict.js';

/** Roots to pin instead of the vendors' own: for test PKIs; production leaves them all unset. */
export interface VendorRoots {
  intelSgx?: readonly X509Certificate[];
  amdArks?: Readonly<Record<string, X509Certificate>>;
  awsNitro?: readonly X509Certificate[];
  intelIas?: readonly X509Certificate[];
}

export interface EvidenceParts {
  evidence: Buffer;
  collateral?: DcapCollateral;
  /** SEV-SNP: the VCEK, ASK and ARK as PEM in any order, or the VCEK alone as DER (the pinned ASK then completes the chain). */
  certificates?: string | Buffer;
}

export interface VerifyEvidenceOptions {
  at: Date;
  roots?: VendorRoots;
}

function refused(type: HardwareEvidenceType, at: Date, reason: string): Verdict {
  return { ...emptyVerdict(type, at), reason };
}

export function verifyEvidence(type: HardwareEvidenceType, parts: EvidenceParts, options: VerifyEvidenceOptions): Verdict {
  const { at, roots = {} } = options;
  switch (type) {
    case 'sgx-dcap':
    case 'tdx': {
      if (!parts.collateral) return refused(type, at, 'a DCAP quote needs its collateral (embedded with the evidence or fetched from a PCCS)');
      let tee: string;
      try {
        tee = dcapCollateralRequest(parts.evidence).teeType;
      } catch (error) {
        return refused(type, at, `malformed evidence: ${(error as Error).message}`);
      }
      const expected = type === 'tdx' ? 'tdx' : 'sgx';
      if (tee !== expected) return refused(type, at, `the quote is a ${tee.toUpperCase()} quote, announced as ${type}`);
      const verdict = verifyDcapQuote(parts.evidence, parts.collateral, roots.intelSgx ? { at, roots: roots.intelSgx } : { at });
      return { ...verdict, type };
    }
    case 'sev-snp': {
      if (!parts.certificates) return refused(type, at, 'an SEV-SNP report needs its VCEK certificate (and ASK) to be judged');
      let certificates: X509Certificate[];
      try {
        certificates = parseSevSnpCertificates(parts.certificates);
      } catch (error) {
        return refused(type, at, `the SEV-SNP certificates are not readable: ${(error as Error).message}`);
      }
      return verifySevSnpReport(parts.evidence, certificates, roots.amdArks ? { at, arks: roots.amdArks } : { at });
    }
    case 'nitro':
      return verifyNitroDocument(parts.evidence, roots.awsNitro ? { at, roots: roots.awsNitro } : { at });
    case 'ias': {
      let evidence;
      try {
        evidence = parseIasEvidence(parts.evidence.toString('utf8'));
      } catch (error) {
        return refused(type, at, `malformed evidence: ${(error as Error).message}`);
      }
      return verifyIasReport(evidence, roots.intelIas ? { at, roots: roots.intelIas } : { at });
    }
  }
}
