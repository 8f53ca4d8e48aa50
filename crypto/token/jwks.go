package token

// AppendJWKS appends the JWK Set (RFC 7517) of the public keys among keys:
// {"keys":[...]}, each key with kty, crv, x (and y for EC), kid, alg and
// "use":"sig". HS256 keys, and zero VerifyKeys, are never included; with no
// public key the set is {"keys":[]}.
func AppendJWKS(dst []byte, keys []VerifyKey) []byte {
	dst = append(dst, `{"keys":[`...)
	first := true
	for i := range keys {
		k := &keys[i]
		if !k.valid() || k.alg == HS256 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJWK(dst, k)
	}
	return append(dst, "]}"...)
}

func appendJWK(dst []byte, k *VerifyKey) []byte {
	switch k.alg {
	case ES256:
		raw, _ := k.ec.Bytes() // valid: checked by NewPublicKey
		dst = append(dst, `{"kty":"EC","crv":"P-256","x":"`...)
		dst = b64.AppendEncode(dst, raw[1:33])
		dst = append(dst, `","y":"`...)
		dst = b64.AppendEncode(dst, raw[33:65])
	case EdDSA:
		dst = append(dst, `{"kty":"OKP","crv":"Ed25519","x":"`...)
		dst = b64.AppendEncode(dst, k.ed)
	}
	dst = append(dst, `","kid":`...)
	dst, _ = appendString(dst, k.kid) // kids are valid UTF-8: checkKID
	dst = append(dst, `,"alg":"`...)
	dst = append(dst, k.alg...)
	return append(dst, `","use":"sig"}`...)
}
