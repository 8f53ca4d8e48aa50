package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/httpsig"
)

// Request signatures (docs/protocol.md §10): a token attested with pop carries
// cnf, the device key, and every request that carries it is signed with
// that key, so that the token is of no use to whoever copies it.

// DefaultMaxSignedBody bounds the body SignRequest reads into memory when
// the request cannot give it again (no GetBody).
const DefaultMaxSignedBody = 10 << 20

// ErrBodyTooLarge: a request body that must be read to be signed is over
// the limit. The request is not sent.
var ErrBodyTooLarge = errors.New("client: request body over the signing limit")

// SignRequest signs req with the device key key at now as docs/protocol.md §10
// asks: it sets Content-Digest (sha-256 of the body) when req has a body,
// then Signature-Input and Signature with label att over @method,
// @authority, @path, @query (when req has a query), attest-token and
// content-digest (when it has a body), created, keyid = the did of key and
// alg ecdsa-p256-sha256. Set Attest-Token and everything else the request
// sends first: SignRequest signs req as it is.
//
// The body stays readable: with req.GetBody it is hashed from a copy and
// req.Body is left alone; without, it is read (up to maxBody bytes,
// DefaultMaxSignedBody when maxBody ≤ 0; ErrBodyTooLarge past it) and
// req.Body, req.GetBody and req.ContentLength are set to serve it again.
// SignRequest modifies req: sign a clone of a request you were given.
func SignRequest(req *http.Request, key *ecdsa.PrivateKey, now time.Time, maxBody int64) error {
	hasBody, err := digestBody(req, maxBody)
	if err != nil {
		return err
	}
	msg := httpsig.ClientRequest(req)
	in, sig, err := httpsig.SignRequest(&msg, hasBody, key, now.Unix())
	if err != nil {
		return fmt.Errorf("client: sign request: %w", err)
	}
	req.Header.Set("Signature-Input", httpsig.Label+"="+in)
	req.Header.Set("Signature", httpsig.Label+"="+sig)
	return nil
}

// digestBody sets req's Content-Digest when it has a body (and deletes any
// other), and reports whether it has one.
func digestBody(req *http.Request, maxBody int64) (bool, error) {
	req.Header.Del("Content-Digest")
	if req.Body == nil || req.Body == http.NoBody {
		return false, nil
	}
	h := sha256.New()
	var n int64
	if req.GetBody != nil {
		copyBody, err := req.GetBody()
		if err != nil {
			return false, fmt.Errorf("client: sign request: body: %w", err)
		}
		n, err = io.Copy(h, copyBody)
		_ = copyBody.Close()
		if err != nil {
			return false, fmt.Errorf("client: sign request: body: %w", err)
		}
	} else {
		if maxBody <= 0 {
			maxBody = DefaultMaxSignedBody
		}
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		_ = req.Body.Close()
		if err != nil {
			return false, fmt.Errorf("client: sign request: body: %w", err)
		}
		if int64(len(b)) > maxBody {
			return false, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, maxBody)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
		if len(b) == 0 {
			req.Body, req.GetBody = http.NoBody, nil
		}
		h.Write(b)
		n = int64(len(b))
	}
	if n == 0 {
		return false, nil
	}
	req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(h.Sum(nil))+":")
	return true, nil
}

// tokenBound reports whether the token's claims carry cnf (docs/protocol.md
// §10). The token is the edge's answer, read without verifying it: only a
// backend can tell a pass from a failure, and a token without cnf is sent
// unsigned either way.
func tokenBound(tok string) bool {
	_, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false
	}
	var c struct {
		Cnf *struct {
			JWK json.RawMessage `json:"jwk"`
		} `json:"cnf"`
	}
	return json.Unmarshal(raw, &c) == nil && c.Cnf != nil && len(c.Cnf.JWK) > 0
}
