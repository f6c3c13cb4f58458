/**
 * Fetching DCAP collateral from a PCCS or Intel PCS (API v4), against a loopback stand-in that serves
 * the real SGX v3 and TDX v4 samples' collateral as those services answer: the fetched collateral is the
 * sample's, byte for byte, and the quotes verify with it exactly as with the embedded collateral. Each way
 * the service can fail (unknown platform, server error, silence, answers that are not Intel's) is one
 * CollateralFetchError naming the URL and the status or the timeout.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseDcapCollateral, verifyDcapQuote, type DcapCollateral } from '../../src/attestation/dcap.ts';
import {
  CollateralFetchError,
  EmbeddedCollateralSource,
  type CollateralSource,
  fetchDcapCollateral,
  INTEL_PCS_URL,
  INTEL_ROOT_CA_CRL_URL,
  PccsCollateralSource,
} from '../../src/attestation/pccs.ts';
import { INTEL_SGX_ROOT_CA } from '../../src/attestation/roots.ts';
import { readSample } from '../helpers/attestation-samples.ts';
import { StandInPccs, type PccsSample } from '../helpers/stand-in-pccs.ts';

const AT = new Date('2025-06-20T00:00:00Z');

function sample(quotePath: string, collateralPath: string): PccsSample {
  return { quote: readSample(quotePath), collateral: parseDcapCollateral(JSON.parse(readSample(collateralPath).toString())) };
}

const SGX = sample('sgx-dcap/sgx_quote', 'sgx-dcap/sgx_quote_collateral.json');
const TDX = sample('tdx/tdx_quote', 'tdx/tdx_quote_collateral.json');

/** The requests a v4 client makes for each sample, as Intel's API documents them. */
const SGX_REQUESTS = [
  '/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
  '/sgx/certification/v4/qe/identity',
  '/sgx/certification/v4/rootcacrl',
  '/sgx/certification/v4/tcb?fmspc=00A067110000',
];
const TDX_REQUESTS = [
  '/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
  '/sgx/certification/v4/rootcacrl',
  '/tdx/certification/v4/qe/identity',
  '/tdx/certification/v4/tcb?fmspc=B0C06F000000',
];

/** Fetches through the stand-in, returning what was fetched and the requests it took. */
async function fetchFrom(pccs: StandInPccs, quote: Buffer, baseUrl = pccs.baseUrl, timeoutMs?: number): Promise<{ collateral: DcapCollateral; requests: string[] }> {
  pccs.requests.length = 0;
  const collateral = await fetchDcapCollateral(quote, { baseUrl, ...(timeoutMs ? { timeoutMs } : {}) });
  return { collateral, requests: [...pccs.requests].sort() };
}

async function refusal(promise: Promise<unknown>): Promise<CollateralFetchError> {
  const error = await promise.then(
    () => assert.fail('the fetch must fail'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof CollateralFetchError, `expected a CollateralFetchError, got ${String(error)}`);
  return error;
}

describe('fetchDcapCollateral from a PCCS (v4)', () => {
  let pccs: StandInPccs;
  before(async () => {
    pccs = await StandInPccs.start([SGX, TDX]);
  });
  afterEach(() => pccs.clearFaults());
  after(() => pccs.close());

  for (const [name, tee, requests] of [
    ['SGX v3', SGX, SGX_REQUESTS],
    ['TDX v4', TDX, TDX_REQUESTS],
  ] as const) {
    it(`fetches the ${name} sample's collateral with exactly the v4 requests, and the quote verifies with it as with the embedded one`, async () => {
      const fetched = await fetchFrom(pccs, tee.quote);
      assert.deepEqual(fetched.requests, requests);
      assert.deepEqual(fetched.collateral, tee.collateral);
      const verdict = verifyDcapQuote(tee.quote, fetched.collateral, { at: AT });
      assert.equal(verdict.verified, true, verdict.reason);
      assert.deepEqual(verdict, verifyDcapQuote(tee.quote, tee.collateral, { at: AT }));
    });
  }

  it('accepts a base URL written as in Intel QCNL configurations, with the /sgx/certification/v4/ prefix', async () => {
    const fetched = await fetchFrom(pccs, TDX.quote, `${pccs.baseUrl}/sgx/certification/v4/`);
    assert.deepEqual(fetched.requests, TDX_REQUESTS);
    assert.deepEqual(fetched.collateral, TDX.collateral);
  });

  it('reads a PCK CRL answered as hex (PCCS without encoding=der) or as PEM (PCS without encoding) the same as DER', async () => {
    const der = Buffer.from(SGX.collateral.pck_crl, 'hex');
    pccs.setFault({ kind: 'body', body: SGX.collateral.pck_crl.toUpperCase() }, 'pckcrl');
    assert.equal((await fetchFrom(pccs, SGX.quote)).collateral.pck_crl, SGX.collateral.pck_crl);
    const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;
    pccs.setFault({ kind: 'body', body: pem }, 'pckcrl');
    assert.equal((await fetchFrom(pccs, SGX.quote)).collateral.pck_crl, SGX.collateral.pck_crl);
  });

  it('cuts the signed TCB info out of the body as served, whatever the spacing and member order around it', async () => {
    const body = `{\n  "signature" : "${SGX.collateral.tcb_info_signature}",\n  "tcbInfo" :\t${SGX.collateral.tcb_info}\n}\n`;
    pccs.setFault({ kind: 'body', body }, 'tcb');
    const fetched = await fetchFrom(pccs, SGX.quote);
    assert.equal(fetched.collateral.tcb_info, SGX.collateral.tcb_info);
    assert.equal(verifyDcapQuote(SGX.quote, fetched.collateral, { at: AT }).verified, true);
    const spaced = SGX.collateral.tcb_info.replace('{"id":"SGX"', '{ "id" : "SGX\\u0022"');
    pccs.setFault({ kind: 'body', body: body.replace(SGX.collateral.tcb_info, spaced) }, 'tcb');
    assert.equal((await fetchFrom(pccs, SGX.quote)).collateral.tcb_info, spaced, 'the text Intel signed is kept, never re-serialized');
  });

  it('goes through PccsCollateralSource, which is what a policy naming a PCCS URL uses', async () => {
    pccs.requests.length = 0;
    const collateral = await new PccsCollateralSource(pccs.baseUrl).dcap(TDX.quote);
    assert.deepEqual(collateral, TDX.collateral);
    assert.deepEqual([...pccs.requests].sort(), TDX_REQUESTS);
  });
});

describe('fetchDcapCollateral: the older TCB info header and Intel PCS', () => {
  it('takes the TCB info issuer chain from SGX-TCB-Info-Issuer-Chain when a service sends the older name', async (t) => {
    const pccs = await StandInPccs.start([SGX], { tcbInfoIssuerChainHeader: 'SGX-TCB-Info-Issuer-Chain' });
    t.after(() => pccs.close());
    assert.deepEqual((await fetchFrom(pccs, SGX.quote)).collateral, SGX.collateral);
  });

  it("asks Intel PCS the same v4 API, and takes the root CA CRL from the pinned root's CRL distribution point", async (t) => {
    const pcs = await StandInPccs.start([SGX, TDX], { pcs: true });
    t.after(() => pcs.close());
    const asked: string[] = [];
    const throughStandIn: typeof fetch = (input, init) => {
      const url = String(input);
      asked.push(url);
      const local = url.replace(INTEL_PCS_URL, pcs.baseUrl).replace('https://certificates.trustedservices.intel.com', pcs.baseUrl);
      return fetch(local, init);
    };
    const collateral = await fetchDcapCollateral(SGX.quote, { baseUrl: `${INTEL_PCS_URL}/sgx/certification/v4/`, fetch: throughStandIn });
    assert.deepEqual(asked.sort(), [INTEL_ROOT_CA_CRL_URL, ...SGX_REQUESTS.filter((path) => !path.endsWith('rootcacrl')).map((path) => `${INTEL_PCS_URL}${path}`)].sort());
    assert.deepEqual(collateral, SGX.collateral);
    assert.ok(INTEL_SGX_ROOT_CA.raw.includes(Buffer.from(INTEL_ROOT_CA_CRL_URL)), "the URL is the pinned root's own CRL distribution point");
  });
});

describe('fetchDcapCollateral: failures are one clear CollateralFetchError', () => {
  let pccs: StandInPccs;
  before(async () => {
    pccs = await StandInPccs.start([{ ...SGX, fmspc: '00906ED50000' }, TDX]);
  });
  afterEach(() => pccs.clearFaults());
  after(() => pccs.close());

  it("refuses a platform the service does not know: its FMSPC's TCB info answers 404", async () => {
    const error = await refusal(fetchDcapCollateral(SGX.quote, { baseUrl: pccs.baseUrl }));
    assert.equal(error.status, 404);
    assert.equal(error.url, `${pccs.baseUrl}/sgx/certification/v4/tcb?fmspc=00A067110000`);
    assert.match(error.message, /^the TCB info of FMSPC 00A067110000: GET http:\/\/127\.0\.0\.1:\d+\/sgx\/certification\/v4\/tcb\?fmspc=00A067110000 answered HTTP 404 \(No cache data for this platform\.\)$/);
  });

  it('names the status when the service fails', async () => {
    pccs.setFault({ kind: 'status', status: 500 });
    const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl: pccs.baseUrl }));
    assert.equal(error.status, 500);
    assert.ok(error.url.startsWith(`${pccs.baseUrl}/`), error.url);
    assert.match(error.message, new RegExp(`GET ${error.url.replace(/[?.]/g, '\\$&')} answered HTTP 500 \\(Internal server error occurred\\.\\)$`));
  });

  it('gives up after the timeout when the service never answers', async () => {
    pccs.setFault({ kind: 'hang' }, 'qe/identity');
    const started = performance.now();
    const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl: pccs.baseUrl, timeoutMs: 300 }));
    assert.equal(error.url, `${pccs.baseUrl}/tdx/certification/v4/qe/identity`);
    assert.equal(error.status, undefined);
    assert.match(error.message, /^the TD QE identity: GET http:\/\/127\.0\.0\.1:\d+\/tdx\/certification\/v4\/qe\/identity timed out after 300 ms$/);
    assert.ok(performance.now() - started < 5_000, 'the timeout bounds the wait');
  });

  it('still gives up after the timeout while garbage is collected during the wait', async () => {
    v8.setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    pccs.setFault({ kind: 'hang' }, 'qe/identity');
    const collecting = setInterval(collectGarbage, 10);
    try {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl: pccs.baseUrl, timeoutMs: 100 }));
        assert.match(error.message, /timed out after 100 ms$/);
      }
    } finally {
      clearInterval(collecting);
    }
  });

  it('names the reason when the service cannot be reached', async () => {
    const closed = await StandInPccs.start([TDX]);
    const baseUrl = closed.baseUrl;
    await closed.close();
    const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl }));
    assert.match(error.message, /failed \(ECONNREFUSED\)$/);
  });

  const tcbBody = `{"tcbInfo":${TDX.collateral.tcb_info},"signature":"${TDX.collateral.tcb_info_signature}"}`;
  const malformedAnswers: { name: string; route: 'tcb' | 'qe/identity' | 'pckcrl' | 'rootcacrl'; body?: string; noIssuerChain?: true; reason: RegExp }[] = [
    { name: 'a TCB info body that is not JSON', route: 'tcb', body: '<html>maintenance</html>', reason: /^the TCB info of FMSPC B0C06F000000: the answer of GET \S+ is not JSON$/ },
    { name: 'a TCB info body without its signature', route: 'tcb', body: `{"tcbInfo":${TDX.collateral.tcb_info}}`, reason: /has members tcbInfo, not exactly tcbInfo and signature$/ },
    { name: 'a TCB info body with a member more', route: 'tcb', body: tcbBody.replace(/}$/, ',"note":"x"}'), reason: /has members note, signature, tcbInfo, not exactly tcbInfo and signature$/ },
    { name: 'a TCB info body naming tcbInfo twice', route: 'tcb', body: tcbBody.replace(/}$/, `,"tcbInfo":{}}`), reason: /names a member twice$/ },
    { name: 'a TCB info that is not an object', route: 'tcb', body: `{"tcbInfo":"text","signature":"${TDX.collateral.tcb_info_signature}"}`, reason: /has a tcbInfo that is not an object$/ },
    { name: 'a signature that is not P-256 r‖s', route: 'tcb', body: tcbBody.replace(TDX.collateral.tcb_info_signature, 'ab'.repeat(70)), reason: /has a signature that is not hex P-256 r‖s$/ },
    { name: 'a QE identity body with the TCB info member', route: 'qe/identity', body: tcbBody, reason: /^the TD QE identity: .* not exactly enclaveIdentity and signature$/ },
    { name: 'a QE identity without its issuer chain header', route: 'qe/identity', noIssuerChain: true, reason: /^the TD QE identity: the answer of GET \S+ has no SGX-Enclave-Identity-Issuer-Chain header$/ },
    { name: 'a PCK CRL without its issuer chain header', route: 'pckcrl', noIssuerChain: true, reason: /^the platform PCK CRL: .* has no SGX-PCK-CRL-Issuer-Chain header$/ },
    { name: 'a PCK CRL that is none of DER, PEM or hex', route: 'pckcrl', body: 'revoked: nothing', reason: /^the platform PCK CRL: the answer of GET \S+ is neither DER, PEM nor hex$/ },
    { name: 'a root CA CRL that is hex but not a CRL', route: 'rootcacrl', body: '3003020101', reason: /^the root CA CRL: the answer of GET \S+ is not a CRL: / },
  ];
  for (const { name, route, body, noIssuerChain, reason } of malformedAnswers) {
    it(`refuses ${name}, naming what and where`, async () => {
      pccs.setFault(noIssuerChain ? { kind: 'no-issuer-chain' } : { kind: 'body', body: body as string }, route);
      const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl: pccs.baseUrl }));
      assert.match(error.message, reason);
      assert.ok(error.message.includes(error.url) && error.url.startsWith(pccs.baseUrl), error.message);
    });
  }

  it('refuses an issuer chain header that is not a PEM chain', async (t) => {
    const broken = await StandInPccs.start([{ ...TDX, collateral: { ...TDX.collateral, qe_identity_issuer_chain: 'not a certificate' } }]);
    t.after(() => broken.close());
    const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl: broken.baseUrl }));
    assert.match(error.message, /^the TD QE identity: the answer of GET \S+ has a SGX-Enclave-Identity-Issuer-Chain header that is not a PEM chain: /);
  });

  it('refuses a base URL that is not an http(s) service before asking anything', async () => {
    for (const baseUrl of ['pccs.example:8081', 'ftp://pccs.example', `${pccs.baseUrl}/?token=x`]) {
      pccs.requests.length = 0;
      const error = await refusal(fetchDcapCollateral(TDX.quote, { baseUrl }));
      assert.equal(error.url, baseUrl);
      assert.deepEqual(pccs.requests, []);
    }
  });

  it('refuses a quote it cannot read before asking anything', async () => {
    pccs.requests.length = 0;
    const error = await refusal(fetchDcapCollateral(TDX.quote.subarray(0, 100), { baseUrl: pccs.baseUrl }));
    assert.match(error.message, /^cannot tell which collateral the quote needs: quote is truncated/);
    assert.deepEqual(pccs.requests, []);
  });
});

describe('EmbeddedCollateralSource', () => {
  it('returns the collateral the worker shipped, asking no one', async () => {
    const source: CollateralSource = new EmbeddedCollateralSource(SGX.collateral);
    assert.equal(await source.dcap(SGX.quote), SGX.collateral);
  });
});
