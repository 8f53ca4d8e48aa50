// Makes Play Integrity tokens with npm jose, an encoder independent of the
// Go code (go-jose) that verifies them, for the tests of
// verify/playintegrity (node_interop_test.go). Reads one JSON object on
// standard input:
//   {"decryptionKey": b64 AES-256 key, "signingKeyPKCS8": b64 PKCS#8 DER of
//    the EC P-256 signing key, "cases": [{"name", "payload": JSON text,
//    "kind": see below, "header": extra protected header members}]}
// and prints {"tokens": {name: token}}. Kinds:
//   genuine    ES256 JWS inside an A256KW / A256GCM JWE, as Google does it
//   dir        the same JWS in a JWE with alg dir
//   a128gcm    enc A128GCM
//   es384      the JWS signed ES384 (a fresh P-384 key)
//   hs256      the JWS signed HS256 with the decryption key
//   none       an unsecured JWT (alg none) inside the JWE
//   bare-jws   the genuine JWS alone, no JWE
//   jwe-json   the payload itself inside the JWE, no JWS
//   other-key  a JWE with a fresh AES key
// Any failure is printed on standard error with exit status 1.
import {
  CompactEncrypt, CompactSign, UnsecuredJWT, generateKeyPair, importPKCS8,
} from 'jose';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const enc = (s) => new TextEncoder().encode(s);

function pem(b64) {
  const lines = b64.match(/.{1,64}/g).join('\n');
  return `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n`;
}

async function jws(payload, alg, key, header = {}, options) {
  return new CompactSign(enc(payload)).setProtectedHeader({ alg, ...header }).sign(key, options);
}

async function jwe(plaintext, alg, encAlg, key, header = {}) {
  return new CompactEncrypt(enc(plaintext)).setProtectedHeader({ alg, enc: encAlg, ...header }).encrypt(key);
}

async function token(c, aes, signing) {
  const h = c.header ?? {};
  switch (c.kind) {
    case 'genuine':
      return jwe(await jws(c.payload, 'ES256', signing, h), 'A256KW', 'A256GCM', aes, h);
    case 'dir':
      return jwe(await jws(c.payload, 'ES256', signing), 'dir', 'A256GCM', aes);
    case 'a128gcm':
      return jwe(await jws(c.payload, 'ES256', signing), 'A256KW', 'A128GCM', aes);
    case 'es384': {
      const { privateKey } = await generateKeyPair('ES384');
      return jwe(await jws(c.payload, 'ES384', privateKey), 'A256KW', 'A256GCM', aes);
    }
    case 'hs256':
      return jwe(await jws(c.payload, 'HS256', aes), 'A256KW', 'A256GCM', aes);
    case 'none':
      return jwe(new UnsecuredJWT(JSON.parse(c.payload)).encode(), 'A256KW', 'A256GCM', aes);
    case 'bare-jws':
      return jws(c.payload, 'ES256', signing);
    case 'jwe-json':
      return jwe(c.payload, 'A256KW', 'A256GCM', aes);
    case 'other-key':
      return jwe(await jws(c.payload, 'ES256', signing), 'A256KW', 'A256GCM', crypto.getRandomValues(new Uint8Array(32)));
  }
  throw new Error(`unknown kind ${c.kind}`);
}

async function main() {
  const input = await readStdin();
  const aes = new Uint8Array(Buffer.from(input.decryptionKey, 'base64'));
  const signing = await importPKCS8(pem(input.signingKeyPKCS8), 'ES256');
  const tokens = {};
  for (const c of input.cases) tokens[c.name] = await token(c, aes, signing);
  process.stdout.write(JSON.stringify({ tokens }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`playintegrity: ${err.code ?? err.name}: ${err.message}\n`);
  process.exit(1);
});
