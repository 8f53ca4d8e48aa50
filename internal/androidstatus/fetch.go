package androidstatus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// maxRedirects bounds the redirects a fetch follows, each to the same
// scheme and host as the URL configured.
const maxRedirects = 3

// errRedirect refuses a redirect elsewhere.
var errRedirect = errors.New("redirect refused")

// newClient is the HTTP client of a URL source: TLS 1.2 or later against
// cfg.RootCAs, redirects only to the same scheme and host, proxies from
// the environment (never for loopback), bounded header size.
func newClient(cfg Config) *http.Client {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
		MaxResponseHeaderBytes: 64 << 10,
		ResponseHeaderTimeout:  cfg.Timeout,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           1,
		ForceAttemptHTTP2:      true,
	}
	origin := cfg.Source.URL
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
		}
		if origin == nil || req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return fmt.Errorf("%w: to %s://%s, not %s://%s", errRedirect, req.URL.Scheme, req.URL.Host, origin.Scheme, origin.Host)
		}
		return nil
	}}
}

// fetch gets the list from the URL within the timeout and installs it:
// only a 200 answer whose whole body (at most MaxStatusListSize bytes,
// read through a LimitReader at that + 1) parses. It returns the answer's
// max-age (-1: none). A list confirmed or replaced refreshes the cache.
func (k *Keeper) fetch(ctx context.Context) (time.Duration, error) {
	body, maxAge, err := k.get(ctx)
	if err != nil {
		k.failed(err)
		return 0, err
	}
	list, err := androidkey.ParseStatusList(body)
	if err != nil {
		err = fail(ReasonMalformed, "%w", err)
		k.failed(err)
		return 0, err
	}
	at := k.cfg.Clock.Now()
	changed, err := k.accept(list, body, at)
	if err != nil {
		k.failed(err)
		return 0, err
	}
	k.writeCache(body, changed, at)
	k.cfg.Attempted(nil)
	return maxAge, nil
}

// get is one GET of the URL: the body of a 200 answer, read whole.
func (k *Keeper) get(ctx context.Context) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.cfg.Source.URL.String(), nil)
	if err != nil {
		return nil, 0, fail(ReasonTransport, "%w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "attestd")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, 0, fail(ReasonTransport, "%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fail(ReasonStatus, "answer %s", resp.Status)
	}
	if resp.ContentLength > androidkey.MaxStatusListSize {
		return nil, 0, fail(ReasonTooLarge, "Content-Length %d, at most %d", resp.ContentLength, androidkey.MaxStatusListSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, androidkey.MaxStatusListSize+1))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, 0, fail(ReasonTruncated, "body cut short after %d bytes: %w", len(body), err)
	case err != nil:
		return nil, 0, fail(ReasonTransport, "body after %d bytes: %w", len(body), err)
	case len(body) > androidkey.MaxStatusListSize:
		return nil, 0, fail(ReasonTooLarge, "body over %d bytes", androidkey.MaxStatusListSize)
	}
	return body, maxAgeOf(resp.Header.Get("Cache-Control")), nil
}
