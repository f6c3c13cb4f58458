/**
 * The worker side of attestation: how a worker obtains evidence from the TEE it runs in, bound to its
 * identity (report data = bindingReportData(identity)), in the form it publishes in WorkerRegister.
 * Three providers behind one boundary, chosen by configuration (enclave.attestation): the simulated TEE
 * (development), Gramine-SGX's /dev/attestation (provider-gramine.ts) and Linux configfs-tsm in a TDX
 * or SEV-SNP guest (provider-tsm.ts). The two hardware ones share one shape: a source reads its TEE
 * interface and returns only evidence it has read back binding the identity; this module attaches what a
 * requester needs beside it and writes the envelope (envelope.ts).
 *
 * Intel DCAP collateral (SGX and TDX quotes) is attached to the evidence so requesters whose policy says
 * `collateral: embedded` can judge it offline. It comes from exactly one place, fixed at start:
 * - collateralFile: Intel's collateral JSON, read and checked once at creation so a bad file stops the
 *   worker at start rather than at its first registration. It is as current as the file: TCB info and
 *   CRLs expire within weeks, after which requesters refuse the evidence until the file is renewed.
 * - pccsUrl: fetched from that PCCS (or Intel PCS) for each quote, so it is as current as the service;
 *   a failed fetch fails the evidence, since a worker told to ship collateral must not publish without it.
 * - neither: the quote is published alone, and requesters need a PCCS in their policy to judge it.
 * Naming both is refused: which one wins would otherwise be a silent choice.
 * Nothing a provider publishes is trusted for being published: requesters judge all of it again.
 */
import fs from 'node:fs';
import type { BoundIdentity } from './binding.js';
import { parseDcapCollateral, type DcapCollateral } from './dcap.js';
import { encodeEvidenceEnvelope } from './envelope.js';
import type { HardwareEvidence, HardwareEvidenceSource } from './evidence-source.js';
import { PccsCollateralSource } from './pccs.js';
import { GramineEvidenceSource } from './provider-gramine.js';
import { ConfigfsTsmEvidenceSource } from './provider-tsm.js';
import { createSimulatedEvidence, SIMULATED_PROOF_TYPE } from './simulated.js';
import { parseCertificates } from './x509.js';

export interface EvidenceProvider {
  /** What the provider is, for logs: 'simulated', 'gramine-sgx', 'configfs-tsm (tdx_guest)'. */
  readonly description: string;
  /** Evidence binding `identity` (its report data = bindingReportData(identity)), as the worker publishes it. */
  evidence(identity: BoundIdentity, measurement: string): Promise<{ proofDataType: string; proofData: string }>;
  /** Waits for requests in flight and releases what the provider made (configfs-tsm: its report entries). */
  close(): Promise<void>;
}

export interface EvidenceProviderSettings {
  provider: 'simulated' | 'gramine-sgx' | 'configfs-tsm';
  /** Gramine's attestation pseudo-filesystem; default '/dev/attestation'. */
  gramineDir: string;
  /** The configfs-tsm report directory entries are made in; default '/sys/kernel/config/tsm/report'. */
  tsmDir: string;
  /** DCAP collateral JSON to embed ('' = none). */
  collateralFile: string;
  /** Fetch DCAP collateral for each quote from this PCCS and embed it ('' = none). */
  pccsUrl: string;
  /** SEV-SNP: PEM VCEK (first), ASK, ARK, used when the kernel's auxblob gives no certificates ('' = none). */
  certificatesFile: string;
}

/** The collateral to publish beside a DCAP quote, or undefined when the worker ships none. */
export type DcapCollateralSupplier = (quote: Buffer) => Promise<DcapCollateral | undefined>;

class SimulatedEvidenceProvider implements EvidenceProvider {
  readonly description = 'simulated';

  evidence(identity: BoundIdentity, measurement: string): Promise<{ proofDataType: string; proofData: string }> {
    return Promise.resolve({ proofDataType: SIMULATED_PROOF_TYPE, proofData: JSON.stringify(createSimulatedEvidence(measurement, identity)) });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Hardware evidence as the worker publishes it: the envelope, with DCAP collateral for SGX and TDX quotes. */
export async function publishHardwareEvidence(
  hardware: HardwareEvidence,
  issuedAt: string,
  collateralFor: DcapCollateralSupplier,
): Promise<{ proofDataType: string; proofData: string }> {
  const collateral = hardware.type === 'sev-snp' ? undefined : await collateralFor(hardware.evidence);
  return encodeEvidenceEnvelope({
    type: hardware.type,
    issuedAt,
    evidence: hardware.evidence,
    ...(collateral ? { collateral } : {}),
    ...(hardware.certificates ? { certificates: hardware.certificates } : {}),
  });
}

class HardwareEvidenceProvider implements EvidenceProvider {
  constructor(
    private readonly source: HardwareEvidenceSource,
    private readonly collateralFor: DcapCollateralSupplier,
  ) {}

  get description(): string {
    return this.source.description;
  }

  /** The measurement is the TEE's to take: what the worker computed itself proves nothing here. */
  async evidence(identity: BoundIdentity): Promise<{ proofDataType: string; proofData: string }> {
    return publishHardwareEvidence(await this.source.read(identity), identity.issuedAt, this.collateralFor);
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

export function createEvidenceProvider(settings: EvidenceProviderSettings): EvidenceProvider {
  switch (settings.provider) {
    case 'simulated':
      return new SimulatedEvidenceProvider();
    case 'gramine-sgx':
      return new HardwareEvidenceProvider(new GramineEvidenceSource(settings.gramineDir), dcapCollateralSupplier(settings));
    case 'configfs-tsm':
      return new HardwareEvidenceProvider(
        new ConfigfsTsmEvidenceSource(settings.tsmDir, snpCertificatesFromFile(settings.certificatesFile)),
        dcapCollateralSupplier(settings),
      );
    default:
      throw new Error(
        `enclave.attestation.provider ${JSON.stringify((settings as { provider: unknown }).provider)} is not one of simulated, gramine-sgx, configfs-tsm`,
      );
  }
}

/** Where DCAP collateral comes from, per the settings (see the header); a bad collateral file throws here. */
export function dcapCollateralSupplier(settings: Pick<EvidenceProviderSettings, 'collateralFile' | 'pccsUrl'>): DcapCollateralSupplier {
  if (settings.collateralFile !== '' && settings.pccsUrl !== '') {
    throw new Error(
      'enclave.attestation names both collateralFile and pccsUrl: set one (a file for fixed collateral, a PCCS for collateral fetched per quote)',
    );
  }
  if (settings.collateralFile !== '') {
    const text = readSettingsFile(settings.collateralFile, 'collateralFile', 'DCAP collateral');
    let collateral: DcapCollateral;
    try {
      collateral = parseDcapCollateral(text);
    } catch (error) {
      throw new Error(`enclave.attestation.collateralFile ${settings.collateralFile} is not Intel's DCAP collateral JSON: ${(error as Error).message}`);
    }
    return () => Promise.resolve(collateral);
  }
  if (settings.pccsUrl !== '') {
    const source = new PccsCollateralSource(settings.pccsUrl);
    return (quote) => source.dcap(quote);
  }
  return () => Promise.resolve(undefined);
}

/** The PEM certificates of certificatesFile, checked to be certificates at start; undefined when unset. */
function snpCertificatesFromFile(file: string): string | undefined {
  if (file === '') return undefined;
  const text = readSettingsFile(file, 'certificatesFile', 'SEV-SNP certificates');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`enclave.attestation.certificatesFile ${file} holds no PEM certificate (expected the VCEK, then ASK and ARK)`);
  }
  try {
    return parseCertificates(text)
      .map((certificate) => certificate.toString())
      .join('');
  } catch (error) {
    throw new Error(`enclave.attestation.certificatesFile ${file} is not PEM certificates: ${(error as Error).message}`);
  }
}

function readSettingsFile(file: string, setting: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`enclave.attestation.${setting}: cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}
