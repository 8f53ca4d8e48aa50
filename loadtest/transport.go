package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/valyala/fasthttp"
)

// Transports the generator speaks.
const (
	TransportHTTP1 = "http1" // HTTP/1.1 on fasthttp's client, keep-alive
	TransportHTTP3 = "http3" // HTTP/3 on quic-go's RoundTripper
)

// answer is one HTTP answer; body is reused across calls.
type answer struct {
	status     int
	body       []byte
	retryAfter string
}

// transport sends POSTs to the target.
type transport interface {
	post(ctx context.Context, path string, body, sig []byte, a *answer) error
	close()
}

// CheckTarget refuses a target that is not on this machine (a loopback
// address, or a name that resolves only to loopback addresses) unless
// allowRemote is set.
func CheckTarget(ctx context.Context, target string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: want http://HOST:PORT or https://HOST:PORT", target)
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Unmap().IsLoopback() {
			return nil, fmt.Errorf("target %s is not a loopback address; pass --allow-remote to load another machine", host)
		}
		return u, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("target %s: cannot resolve it (%v); give a loopback IP", host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("target %s resolves to %s, not loopback; pass --allow-remote to load another machine", host, a)
		}
	}
	return u, nil
}

// TLSOptions configure https targets.
type TLSOptions struct {
	// CAFile is a PEM file of the CA certificates to trust (default: the
	// system's).
	CAFile string
	// Insecure skips certificate verification (tests only).
	Insecure bool
}

func (o TLSOptions) config(serverName string) (*tls.Config, error) {
	c := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
	}
	return c, nil
}

func newTransport(name string, u *url.URL, conns int, timeout time.Duration, o TLSOptions) (transport, error) {
	switch name {
	case TransportHTTP1:
		hc := &fasthttp.HostClient{
			Addr: u.Host, MaxConns: conns, ReadTimeout: timeout, WriteTimeout: timeout,
			MaxIdleConnDuration: time.Minute, NoDefaultUserAgentHeader: true,
			MaxConnWaitTimeout: timeout,
		}
		if u.Scheme == "https" {
			hc.IsTLS = true
			var err error
			if hc.TLSConfig, err = o.config(u.Hostname()); err != nil {
				return nil, err
			}
		}
		return &fastTransport{hc: hc, base: strings.TrimRight(u.String(), "/"), timeout: timeout}, nil
	case TransportHTTP3:
		if u.Scheme != "https" {
			return nil, errors.New("HTTP/3 needs an https:// target")
		}
		tc, err := o.config(u.Hostname())
		if err != nil {
			return nil, err
		}
		rt := &http3.Transport{TLSClientConfig: tc}
		return &netTransport{c: &http.Client{Transport: rt, Timeout: timeout}, base: strings.TrimRight(u.String(), "/"), closeFn: func() { rt.Close() }}, nil
	}
	return nil, fmt.Errorf("transport %q: want %s or %s", name, TransportHTTP1, TransportHTTP3)
}

type fastTransport struct {
	hc      *fasthttp.HostClient
	base    string
	timeout time.Duration
}

func (t *fastTransport) post(_ context.Context, path string, body, sig []byte, a *answer) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.base + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	if sig != nil {
		req.Header.SetBytesV("Attest-Signature", sig)
	}
	req.SetBodyRaw(body)
	if err := t.hc.DoTimeout(req, resp, t.timeout); err != nil {
		return err
	}
	a.status = resp.StatusCode()
	a.body = append(a.body[:0], resp.Body()...)
	a.retryAfter = string(resp.Header.Peek("Retry-After"))
	return nil
}

func (t *fastTransport) close() { t.hc.CloseIdleConnections() }

type netTransport struct {
	c       *http.Client
	base    string
	closeFn func()
}

func (t *netTransport) post(ctx context.Context, path string, body, sig []byte, a *answer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != nil {
		req.Header.Set("Attest-Signature", string(sig))
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := a.body[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(buf) > 1<<20 {
			return errors.New("answer over 1 MiB")
		}
	}
	a.status, a.body, a.retryAfter = resp.StatusCode, buf, resp.Header.Get("Retry-After")
	return nil
}

func (t *netTransport) close() { t.closeFn() }
