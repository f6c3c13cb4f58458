/**
 * Where a requester gets the Intel collateral a DCAP quote is judged against: the collateral the worker
 * shipped with its evidence, or a PCCS (Intel's Provisioning Certificate Caching Service) or Intel's PCS
 * itself, asked over their v4 API. This is the one place attestation does I/O; it only fetches and
 * reassembles Intel's answers into the DcapCollateral the pure verifier reads, and trusts none of it:
 * every signature, chain and date is judged later by verifyDcapQuote.
 */
import { parsePemCertificates } from './dcap-quote.js';
import { dcapCollateralRequest, parseDcapCollateral, type DcapCollateral, type DcapCollateralRequest } from './dcap.js';
import { parseCrl } from './x509.js';
import type { CollateralPolicy } from './policy.js';

/** Intel's Provisioning Certification Service; PCCS serves the same v4 API. */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
/** The CRL distribution point of the pinned Intel SGX Root CA: PCS has no API for the root CA CRL. */
export const INTEL_ROOT_CA_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';
export const DEFAULT_COLLATERAL_TIMEOUT_MS = 10_000;

/** Intel's QCNL tells PCS from PCCS by this host suffix, and so fetches the root CA CRL from its CDP. */
const PCS_HOST_SUFFIX = 'trustedservices.intel.com';
/** QCNL configurations name the service with its SGX API prefix; the prefix is added here per request. */
const API_PREFIX = /\/(?:sgx|tdx)\/certification\/v4\/?$/;
const P256_SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;
const ERROR_BODY_SHOWN = 200;

/** The collateral could not be fetched, or the service answered something that is not Intel's collateral. */
export class CollateralFetchError extends Error {
  override readonly name = 'CollateralFetchError';
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface CollateralFetchOptions {
  /** The PCCS or PCS, e.g. https://pccs.example:8081 or https://api.trustedservices.intel.com (a trailing /sgx/certification/v4 is accepted). */
  baseUrl: string;
  fetch?: typeof fetch;
  /** For the whole collateral, all requests together. */
  timeoutMs?: number;
}

/** Where the DCAP collateral for a quote comes from, as a requester's policy names it. */
export interface CollateralSource {
  dcap(quote: Buffer): Promise<DcapCollateral>;
}

/** Collateral fetched for each quote from a PCCS or Intel PCS: as current as that service is. */
export class PccsCollateralSource implements CollateralSource {
  constructor(
    readonly baseUrl: string,
    private readonly options: Omit<CollateralFetchOptions, 'baseUrl'> = {},
  ) {}

  dcap(quote: Buffer): Promise<DcapCollateral> {
    return fetchDcapCollateral(quote, { ...this.options, baseUrl: this.baseUrl });
  }
}

/** The collateral the worker shipped beside its evidence: checks work offline, as current as when it was shipped. */
export class EmbeddedCollateralSource implements CollateralSource {
  constructor(private readonly collateral: DcapCollateral) {}

  dcap(): Promise<DcapCollateral> {
    return Promise.resolve(this.collateral);
  }
}

/**
 * The source a requester's policy names: its PCCS, else the collateral the worker shipped (undefined when
 * it shipped none, so the quote cannot be judged).
 */
export function collateralSourceFor(policy: CollateralPolicy, shipped: DcapCollateral | undefined): CollateralSource | undefined {
  if (policy.source === 'pccs') return new PccsCollateralSource(policy.url);
  return shipped ? new EmbeddedCollateralSource(shipped) : undefined;
}

/**
 * Fetches a quote's collateral from a PCCS or Intel PCS (API v4): the PCK CRL of the quote's PCK CA,
 * the TCB info of its FMSPC, the identity of its TEE's quoting enclave, and the root CA CRL.
 */
export async function fetchDcapCollateral(quote: Buffer, options: CollateralFetchOptions): Promise<DcapCollateral> {
  const base = serviceBase(options.baseUrl);
  let request: DcapCollateralRequest;
  try {
    request = dcapCollateralRequest(quote);
  } catch (error) {
    throw new CollateralFetchError(`cannot tell which collateral the quote needs: ${(error as Error).message}`, base);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_COLLATERAL_TIMEOUT_MS;
  // A timer and controller held here, not AbortSignal.any over AbortSignal.timeout: on Node 20 that
  // timeout signal can be garbage-collected before it fires, and the fetch then waits forever.
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  const client = new CollateralClient(options.fetch ?? fetch, stop.signal, timeoutMs);
  const fmspc = request.fmspc.toUpperCase();
  let answers: Answer[];
  try {
    answers = await Promise.all([
      client.get(`${base}/sgx/certification/v4/pckcrl?ca=${request.ca}&encoding=der`, `the ${request.ca} PCK CRL`),
      client.get(`${base}/${request.teeType}/certification/v4/tcb?fmspc=${fmspc}`, `the TCB info of FMSPC ${fmspc}`),
      client.get(`${base}/${request.teeType}/certification/v4/qe/identity`, `the ${request.teeType === 'tdx' ? 'TD QE' : 'QE'} identity`),
      client.get(isIntelPcs(base) ? INTEL_ROOT_CA_CRL_URL : `${base}/sgx/certification/v4/rootcacrl`, 'the root CA CRL'),
    ]);
  } finally {
    clearTimeout(deadline);
    // One failure decides the outcome: the requests still open would only hold connections.
    stop.abort();
  }
  const [pckCrl, tcbInfo, qeIdentity, rootCaCrl] = answers as [Answer, Answer, Answer, Answer];
  const signedTcbInfo = signedBody(tcbInfo, 'tcbInfo');
  const signedIdentity = signedBody(qeIdentity, 'enclaveIdentity');
  const collateral = {
    pck_crl_issuer_chain: issuerChain(pckCrl, ['SGX-PCK-CRL-Issuer-Chain']),
    root_ca_crl: crlHex(rootCaCrl),
    pck_crl: crlHex(pckCrl),
    tcb_info_issuer_chain: issuerChain(tcbInfo, ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain']),
    tcb_info: signedTcbInfo.signed,
    tcb_info_signature: signedTcbInfo.signature,
    qe_identity_issuer_chain: issuerChain(qeIdentity, ['SGX-Enclave-Identity-Issuer-Chain']),
    qe_identity: signedIdentity.signed,
    qe_identity_signature: signedIdentity.signature,
  };
  try {
    return parseDcapCollateral(collateral);
  } catch (error) {
    throw new CollateralFetchError(`the collateral from ${base} is not Intel's: ${(error as Error).message}`, base);
  }
}

/** One answer of the service, with what it was asked for so every error can name both. */
interface Answer {
  url: string;
  what: string;
  headers: Headers;
  body: Buffer;
}

class CollateralClient {
  constructor(
    private readonly fetcher: typeof fetch,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {}

  async get(url: string, what: string): Promise<Answer> {
    try {
      const response = await this.fetcher(url, { signal: this.signal });
      const body = Buffer.from(await response.arrayBuffer());
      if (!response.ok) {
        const said = body.toString('utf8').trim().slice(0, ERROR_BODY_SHOWN);
        throw new CollateralFetchError(`${what}: GET ${url} answered HTTP ${response.status}${said ? ` (${said})` : ''}`, url, response.status);
      }
      return { url, what, headers: response.headers, body };
    } catch (error) {
      if (error instanceof CollateralFetchError) throw error;
      if ((error as Error).name === 'TimeoutError') throw new CollateralFetchError(`${what}: GET ${url} timed out after ${this.timeoutMs} ms`, url);
      throw new CollateralFetchError(`${what}: GET ${url} failed (${failureReason(error)})`, url);
    }
  }
}

/** fetch's own message is only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, …). */
function failureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function serviceBase(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new CollateralFetchError(`the collateral service URL ${JSON.stringify(baseUrl)} is not a URL`, baseUrl);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CollateralFetchError(`the collateral service URL ${baseUrl} is not http(s)`, baseUrl);
  if (url.search || url.hash) throw new CollateralFetchError(`the collateral service URL ${baseUrl} carries a query or fragment`, baseUrl);
  return url.href.replace(API_PREFIX, '').replace(/\/+$/, '');
}

function isIntelPcs(base: string): boolean {
  const host = new URL(base).hostname;
  return host === PCS_HOST_SUFFIX || host.endsWith(`.${PCS_HOST_SUFFIX}`);
}

/** The PEM issuer chain a header carries URL-encoded; PCS v4 and older PCCS name the TCB info one differently. */
function issuerChain(answer: Answer, names: readonly string[]): string {
  const name = names.find((candidate) => answer.headers.has(candidate));
  if (name === undefined) throw malformed(answer, `has no ${names.join(' or ')} header`);
  let pem: string;
  try {
    pem = decodeURIComponent(answer.headers.get(name) as string);
  } catch {
    throw malformed(answer, `has a ${name} header that is not URL-encoded`);
  }
  try {
    parsePemCertificates(pem, name);
  } catch (error) {
    throw malformed(answer, `has a ${name} header that is not a PEM chain: ${(error as Error).message}`);
  }
  return pem;
}

/**
 * A CRL answer as the collateral's lowercase hex DER. Asked with encoding=der, PCS and PCCS answer DER;
 * a PCCS answers hex for the root CA CRL and for PCK CRLs asked without encoding, and PCS answers PEM then.
 */
function crlHex(answer: Answer): string {
  const der = crlDer(answer);
  try {
    parseCrl(der);
  } catch (error) {
    throw malformed(answer, `is not a CRL: ${(error as Error).message}`);
  }
  return der.toString('hex');
}

function crlDer(answer: Answer): Buffer {
  const DER_SEQUENCE = 0x30;
  if (answer.body[0] === DER_SEQUENCE) return answer.body;
  const text = answer.body.toString('latin1').trim();
  const pem = /^-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----$/.exec(text);
  if (pem) return Buffer.from((pem[1] as string).replace(/\s/g, ''), 'base64');
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) return Buffer.from(text, 'hex');
  throw malformed(answer, 'is neither DER, PEM nor hex');
}

/**
 * Intel signs the exact text of the TCB info or enclave identity object inside the body
 * {"<member>":{…},"signature":"<hex r‖s>"}, so that text is cut out as served, never re-serialized.
 */
function signedBody(answer: Answer, member: 'tcbInfo' | 'enclaveIdentity'): { signed: string; signature: string } {
  const text = answer.body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed(answer, 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed(answer, 'is not a JSON object');
  const keys = Object.keys(parsed).sort();
  if (keys.join() !== [member, 'signature'].sort().join()) throw malformed(answer, `has members ${keys.join(', ') || 'none'}, not exactly ${member} and signature`);
  const { signature } = parsed as Record<string, unknown>;
  if (typeof signature !== 'string' || !P256_SIGNATURE_HEX.test(signature)) throw malformed(answer, 'has a signature that is not hex P-256 r‖s');
  const members = topLevelMembers(text);
  if (members.length !== keys.length) throw malformed(answer, 'names a member twice');
  const signed = members.find(([key]) => key === member)?.[1] as string;
  if (!signed.startsWith('{')) throw malformed(answer, `has a ${member} that is not an object`);
  return { signed, signature };
}

/** Each member of a JSON object already known to parse, its value as raw text; duplicates kept (JSON.parse drops them). */
function topLevelMembers(text: string): [string, string][] {
  const members: [string, string][] = [];
  let position = skipWhitespace(text, text.indexOf('{') + 1);
  while (text[position] !== '}') {
    const keyEnd = valueEnd(text, position);
    const key = JSON.parse(text.slice(position, keyEnd)) as string;
    const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1);
    const end = valueEnd(text, valueStart);
    members.push([key, text.slice(valueStart, end)]);
    position = skipWhitespace(text, end);
    if (text[position] === ',') position = skipWhitespace(text, position + 1);
  }
  return members;
}

function skipWhitespace(text: string, position: number): number {
  while (position < text.length && ' \t\n\r'.includes(text[position] as string)) position += 1;
  return position;
}

/** Where the JSON value starting at `start` ends; the text is valid JSON, so strings and brackets balance. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let position = start; position < text.length; position += 1) {
    const character = text[position];
    if (inString) {
      if (character === '\\') position += 1;
      else if (character === '"') {
        inString = false;
        if (depth === 0) return position + 1;
      }
    } else if (character === '"') inString = true;
    else if (character === '{' || character === '[') depth += 1;
    else if (character === '}' || character === ']') {
      if (depth === 0) return position;
      depth -= 1;
      if (depth === 0) return position + 1;
    } else if (depth === 0 && (character === ',' || ' \t\n\r'.includes(character as string))) return position;
  }
  return text.length;
}

function malformed(answer: Answer, problem: string): CollateralFetchError {
  return new CollateralFetchError(`${answer.what}: the answer of GET ${answer.url} ${problem}`, answer.url);
}
