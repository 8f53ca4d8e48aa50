// A second, independent implementation of RFC 9421 request signatures
// (npm http-message-signatures) against attestd's (PROTOCOL.md §12),
// driven by internal/e2e/node_httpsig_test.go. Reads one JSON object on
// standard input:
//   {"mode": "verify", "request": {"method", "url", "headers": {name: value}},
//    "publicJwk": EC P-256 JWK, "keyid": STRING}
//     verifies the request's att signature (ecdsa-p256-sha256 only, keyid,
//     created at most 60 s old, the §12 components required) and prints
//     {"verified": true}; a signature that does not verify exits 1;
//   {"mode": "sign", "request": {"method", "url", "headers", "body"},
//    "privateJwk": EC P-256 JWK, "keyid": STRING, "created": UNIX}
//     computes Content-Digest (sha-256, node:crypto) when there is a body,
//     signs the §12 components with label att and prints
//     {"headers": {name: value}} with Content-Digest, Signature-Input and
//     Signature added.
// Any failure is printed on standard error with exit status 1.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import pkg from 'http-message-signatures';

const { httpbis, createSigner, createVerifier } = pkg;
const ALG = 'ecdsa-p256-sha256';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// components are PROTOCOL.md §12's, in its order.
function components(url, hasBody) {
  const c = ['@method', '@authority', '@path'];
  if (new URL(url).search !== '') c.push('@query');
  c.push('attest-token');
  if (hasBody) c.push('content-digest');
  return c;
}

async function sign(input) {
  const { method, url, headers } = input.request;
  const body = input.request.body ?? '';
  const h = { ...headers };
  if (body !== '') {
    h['content-digest'] = 'sha-256=:' + createHash('sha256').update(body, 'utf8').digest('base64') + ':';
  }
  const key = createPrivateKey({ key: input.privateJwk, format: 'jwk' });
  const signed = await httpbis.signMessage({
    key: createSigner(key, ALG, input.keyid),
    name: 'att',
    fields: components(url, body !== ''),
    params: ['created', 'keyid', 'alg'],
    paramValues: { created: new Date(input.created * 1000) },
  }, { method, url, headers: h });
  return { headers: signed.headers };
}

async function verify(input) {
  const { method, url, headers } = input.request;
  const key = createPublicKey({ key: input.publicJwk, format: 'jwk' });
  const ok = await httpbis.verifyMessage({
    keyLookup: async (params) => (params.keyid === input.keyid ? { id: input.keyid, algs: [ALG], verify: createVerifier(key, ALG) } : null),
    requiredParams: ['created', 'keyid', 'alg'],
    requiredFields: components(url, headers['content-digest'] !== undefined),
    // The package subtracts tolerance from created before comparing its
    // age with maxAge: created may be up to 60 s old (maxAge - tolerance)
    // and up to 5 s ahead.
    maxAge: 65,
    tolerance: 5,
    all: true,
  }, { method, url, headers });
  if (ok !== true) throw new Error(`not verified (${ok})`);
  return { verified: true };
}

async function main() {
  const input = await readStdin();
  const out = input.mode === 'sign' ? await sign(input) : await verify(input);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`httpsig: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
