/**
 * A loopback HTTP server shaped like Intel's PCCS (API v4), or like Intel PCS, serving real sample
 * collateral split back into the answers those services give: the PCK CRL per CA (DER when asked with
 * encoding=der; otherwise hex from a PCCS, PEM from PCS), TCB info and QE identity as Intel's signed JSON
 * bodies, the root CA CRL as hex (PCCS) or at the root's CRL distribution point (PCS), and every issuer
 * chain URL-encoded in its header. It records each request and can be told to fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dcapCollateralRequest, type DcapCollateral } from '../../src/attestation/dcap.ts';

export interface PccsSample {
  quote: Buffer;
  collateral: DcapCollateral;
  /** Serve the TCB info under this FMSPC instead of the quote's, so the quote's platform is unknown here. */
  fmspc?: string;
}

/** The answers a PCCS gives, named for the route (TEE-specific ones by TEE). */
export type PccsRoute = 'pckcrl' | 'tcb' | 'qe/identity' | 'rootcacrl';

export type PccsFault =
  | { kind: 'status'; status: number }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Answers 200 with this body and the usual headers. */
  | { kind: 'body'; body: string | Buffer }
  /** Answers as usual without the issuer-chain header. */
  | { kind: 'no-issuer-chain' };

export interface StandInPccsOptions {
  /** Answer as Intel PCS does (PEM PCK CRL by default, no /rootcacrl, the root CA CRL at /IntelSGXRootCA.der). */
  pcs?: boolean;
  /** PCS v4 and PCCS v4 send TCB-Info-Issuer-Chain; their v3 APIs sent SGX-TCB-Info-Issuer-Chain. */
  tcbInfoIssuerChainHeader?: 'TCB-Info-Issuer-Chain' | 'SGX-TCB-Info-Issuer-Chain';
}

interface SignedAnswer {
  body: string;
  issuerChain: string;
}

const NO_CACHE_DATA = 'No cache data for this platform.';
const INVALID_REQUEST = 'Invalid request parameters.';
const TEES = ['sgx', 'tdx'] as const;

export class StandInPccs {
  /** Path and query of every request, in the order they arrived. */
  readonly requests: string[] = [];
  private readonly faults = new Map<PccsRoute | '*', PccsFault>();

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(samples: readonly PccsSample[], options: StandInPccsOptions = {}): Promise<StandInPccs> {
    const content = splitCollateral(samples);
    let pccs: StandInPccs | undefined;
    const server = http.createServer((request, response) => (pccs as StandInPccs).answer(request, response, content, options));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pccs = new StandInPccs(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return pccs;
  }

  /** From now on, the route (or every route) answers with this fault. */
  setFault(fault: PccsFault, route: PccsRoute | '*' = '*'): void {
    this.faults.set(route, fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse, content: PccsContent, options: StandInPccsOptions): void {
    const target = request.url ?? '';
    this.requests.push(target);
    const url = new URL(target, 'http://stand-in');
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}): void => {
      response.writeHead(status, headers).end(body);
    };
    if (request.method !== 'GET') return send(405, '');
    if (options.pcs && url.pathname === '/IntelSGXRootCA.der') return this.respond('rootcacrl', send, Buffer.from(content.rootCaCrlHex, 'hex'), 'application/pkix-crl');

    const route = /^\/(sgx|tdx)\/certification\/v4\/(pckcrl|tcb|qe\/identity|rootcacrl)$/.exec(url.pathname);
    const tee = route?.[1] as (typeof TEES)[number] | undefined;
    const name = route?.[2] as PccsRoute | undefined;
    if (!tee || !name || ((name === 'pckcrl' || name === 'rootcacrl') && tee !== 'sgx')) return send(404, '');

    if (name === 'rootcacrl') {
      if (options.pcs) return send(404, '');
      return this.respond(name, send, content.rootCaCrlHex, 'application/pkix-crl');
    }
    if (name === 'pckcrl') {
      const ca = url.searchParams.get('ca')?.toUpperCase();
      if (ca !== 'PROCESSOR' && ca !== 'PLATFORM') return send(400, INVALID_REQUEST);
      const crl = content.pckCrls.get(ca);
      if (!crl) return send(404, NO_CACHE_DATA);
      const der = url.searchParams.get('encoding')?.toUpperCase() === 'DER';
      const body = der ? Buffer.from(crl.body, 'hex') : options.pcs ? pemCrl(Buffer.from(crl.body, 'hex')) : crl.body;
      return this.respond(name, send, body, der ? 'application/pkix-crl' : 'application/x-pem-file', { 'SGX-PCK-CRL-Issuer-Chain': crl.issuerChain });
    }
    const update = url.searchParams.get('update')?.toUpperCase() ?? 'STANDARD';
    if (update !== 'STANDARD' && update !== 'EARLY') return send(400, INVALID_REQUEST);
    if (name === 'tcb') {
      const fmspc = url.searchParams.get('fmspc');
      if (fmspc === null || fmspc.length !== 12) return send(400, INVALID_REQUEST);
      const tcbInfo = content.tcbInfos.get(`${tee}/${fmspc.toUpperCase()}`);
      if (!tcbInfo) return send(404, NO_CACHE_DATA);
      const header = options.tcbInfoIssuerChainHeader ?? 'TCB-Info-Issuer-Chain';
      return this.respond(name, send, tcbInfo.body, 'application/json', { [header]: tcbInfo.issuerChain });
    }
    const identity = content.qeIdentities.get(tee);
    if (!identity) return send(404, NO_CACHE_DATA);
    return this.respond(name, send, identity.body, 'application/json', { 'SGX-Enclave-Identity-Issuer-Chain': identity.issuerChain });
  }

  private respond(
    route: PccsRoute,
    send: (status: number, body: string | Buffer, headers?: Record<string, string>) => void,
    body: string | Buffer,
    contentType: string,
    issuerChain: Record<string, string> = {},
  ): void {
    const fault = this.faults.get(route) ?? this.faults.get('*');
    const chainHeaders = Object.fromEntries(Object.entries(issuerChain).map(([name, pem]) => [name, encodeURIComponent(pem)]));
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') return send(fault.status, fault.status === 404 ? NO_CACHE_DATA : 'Internal server error occurred.');
    if (fault?.kind === 'body') return send(200, fault.body, { 'Content-Type': contentType, ...chainHeaders });
    if (fault?.kind === 'no-issuer-chain') return send(200, body, { 'Content-Type': contentType });
    send(200, body, { 'Content-Type': contentType, ...chainHeaders });
  }
}

interface PccsContent {
  /** By CA as PCCS names it (PROCESSOR, PLATFORM); the CRL as hex DER, as the collateral holds it. */
  pckCrls: Map<string, SignedAnswer>;
  /** By "tee/FMSPC". */
  tcbInfos: Map<string, SignedAnswer>;
  qeIdentities: Map<string, SignedAnswer>;
  rootCaCrlHex: string;
}

/** Each sample's collateral back into the answers it came from; two samples must agree where they share one. */
function splitCollateral(samples: readonly PccsSample[]): PccsContent {
  const content: PccsContent = { pckCrls: new Map(), tcbInfos: new Map(), qeIdentities: new Map(), rootCaCrlHex: '' };
  const put = (map: Map<string, SignedAnswer>, key: string, answer: SignedAnswer): void => {
    const existing = map.get(key);
    if (existing && (existing.body !== answer.body || existing.issuerChain !== answer.issuerChain)) throw new Error(`two samples disagree on ${key}`);
    map.set(key, answer);
  };
  for (const { quote, collateral, fmspc } of samples) {
    const request = { ...dcapCollateralRequest(quote), ...(fmspc ? { fmspc } : {}) };
    put(content.pckCrls, request.ca.toUpperCase(), { body: collateral.pck_crl, issuerChain: collateral.pck_crl_issuer_chain });
    put(content.tcbInfos, `${request.teeType}/${request.fmspc.toUpperCase()}`, {
      body: `{"tcbInfo":${collateral.tcb_info},"signature":"${collateral.tcb_info_signature}"}`,
      issuerChain: collateral.tcb_info_issuer_chain,
    });
    put(content.qeIdentities, request.teeType, {
      body: `{"enclaveIdentity":${collateral.qe_identity},"signature":"${collateral.qe_identity_signature}"}`,
      issuerChain: collateral.qe_identity_issuer_chain,
    });
    if (content.rootCaCrlHex && content.rootCaCrlHex !== collateral.root_ca_crl) throw new Error('two samples disagree on the root CA CRL');
    content.rootCaCrlHex = collateral.root_ca_crl;
  }
  return content;
}

function pemCrl(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}
