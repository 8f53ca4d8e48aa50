// Reads one JSON object on standard input:
//   {"jwe": COMPACT JWE, "devicePrivateJWK": EC P-256 private JWK,
//    "token": JWT, "jwks": JWK Set, "audience": STRING, "issuer": STRING}
// decrypts the JWE with the device key (ECDH-ES, A256GCM only) and verifies
// the token against the JWKS (ES256 only, aud, iss, exp), then prints
//   {"secrets": {...}, "jweHeader": {...}, "claims": {...}, "tokenHeader": {...}}
// Any failure is printed on standard error with exit status 1.
import { compactDecrypt, createLocalJWKSet, importJWK, jwtVerify } from 'jose';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const input = await readStdin();
  const out = {};
  if (input.jwe) {
    const key = await importJWK(input.devicePrivateJWK, 'ECDH-ES');
    const { plaintext, protectedHeader } = await compactDecrypt(input.jwe, key, {
      keyManagementAlgorithms: ['ECDH-ES'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    out.secrets = JSON.parse(new TextDecoder().decode(plaintext));
    out.jweHeader = protectedHeader;
  }
  if (input.token) {
    const { payload, protectedHeader } = await jwtVerify(input.token, createLocalJWKSet(input.jwks), {
      algorithms: ['ES256'],
      audience: input.audience,
      issuer: input.issuer,
      requiredClaims: ['exp', 'iat', 'sub', 'did'],
    });
    out.claims = payload;
    out.tokenHeader = protectedHeader;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`interop: ${err.code ?? err.name}: ${err.message}\n`);
  process.exit(1);
});
