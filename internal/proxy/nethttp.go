package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/internal/apierr"
)

// HandleHTTP serves r when its path as sent begins with Prefix and reports
// whether it did (the net/http twin of HandleFasthttp).
func (p *Proxy) HandleHTTP(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(sentPath(r), Prefix) {
		return false
	}
	p.ServeHTTP(w, r)
	return true
}

// sentPath is r's path as the client sent it: the request target of an
// origin-form request (quic-go's http3 server and net/http keep it in
// RequestURI), else the URL's escaped path.
func sentPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ := strings.Cut(r.RequestURI, "?")
		return path
	}
	return r.URL.EscapedPath()
}

// ServeHTTP serves the proxy over net/http (the HTTP/3 listener). The path
// must begin with Prefix; anything else is not_found. The request is
// admitted (Config.Admit) before its body is read; the stream keeps the
// server's deadlines until forward grants the stream timeout.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.cfg.Now()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	in := &inbound{
		method:    r.Method,
		authority: httpsig.Authority(r.Host, scheme),
		path:      sentPath(r),
		query:     r.URL.RawQuery,
		header:    r.Header.Clone(),
		length:    r.ContentLength,
		logCtx:    r.Context(),
		extend: func(d time.Duration) {
			// The stream's deadlines, through quic-go's ResponseWriter
			// (wrappers in between must Unwrap); where they cannot be
			// moved the exchange keeps the shorter ones.
			t := time.Now().Add(d)
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(t)
			_ = rc.SetWriteDeadline(t)
		},
	}
	if in.header == nil {
		in.header = http.Header{}
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		// Nothing may read r.Body once ServeHTTP has returned.
		d := &detachable{r: r.Body}
		defer d.Detach()
		in.body = d
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	resp, err := p.admitForward(ctx, cancel, in)
	if err != nil {
		pub := p.failure(ctx, err)
		writeErrorHTTP(w, pub)
		p.observe(start, pub.Status, pub.Code)
		return
	}
	body := resp.Body
	defer body.Close()
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	p.observe(start, resp.StatusCode, "")
	if r.Method == http.MethodHead {
		return
	}
	upErr, err := copyFlushing(w, body, resp.ContentLength < 0)
	if upErr != nil {
		// The upstream's answer broke off: so must ours, visibly (no
		// final chunk), rather than end as if it were complete.
		p.cfg.Log.WarnContext(ctx, "proxy: upstream answer cut short", "err", upErr)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		p.cfg.Log.DebugContext(ctx, "proxy: client went away", "err", err)
	}
}

// copyFlushing copies the answer to w, flushing after each write when the
// answer's length is unknown (it may be a stream of events). It tells a
// failure to read the upstream (upErr) from one to write to the client.
func copyFlushing(w http.ResponseWriter, r io.Reader, flush bool) (upErr, err error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if flush {
				if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
					return nil, ferr
				}
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}

func writeErrorHTTP(w http.ResponseWriter, pub *apierr.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if pub.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(pub.RetryAfter))
	}
	if pub.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	}
	w.WriteHeader(pub.Status)
	_, _ = w.Write(pub.AppendBody(nil))
}
