package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/attestd/attestd/internal/accesslog"
	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/fastapi"
	"github.com/attestd/attestd/internal/h3api"
	"github.com/attestd/attestd/internal/metrics"
	"github.com/attestd/attestd/internal/proxy"
)

// The proxy counts what its body scrubbing does on the edge's metrics.
var _ proxy.AnswerObserver = (*metrics.Metrics)(nil)

// buildServers builds one api.Handler per transport over the one core
// (so metrics can tell the transports apart), the HTTP/1.1 server for the
// plaintext and HTTPS listeners, HTTP/3, and the admin server, and binds
// every listener.
func (d *Daemon) buildServers(ctx context.Context) error {
	tm := newTransportMetrics(d.metrics.Registry())
	handler := func(o api.Observer) *api.Handler {
		return api.New(api.Config{Edge: d.edge, Accounts: d.reg, Observer: o, Limits: d.limits, Log: d.log, Now: d.opts.Now})
	}
	// The watchdog's self-requests are not shed: they prove the path works.
	d.probe = api.New(api.Config{Edge: d.edge, Accounts: d.reg, Log: d.log, Now: d.opts.Now})
	var err error
	if d.proxy, err = proxy.New(proxy.Config{APIs: d.reg, DebugTokens: d.reg, Issuer: d.cfg.Issuer, Now: d.opts.Now,
		Leeway: d.cfg.ProxyLeeway, StreamTimeout: d.cfg.ProxyStreamTimeout, Observer: d.metrics, Log: d.log,
		Authority: d.cfg.ProxyAuthority, SignatureWindow: d.cfg.ProxySignatureWindow,
		// Proxied requests take places in flight of their own, apart from
		// the API's (they may be held for the stream timeout), on both
		// transports, before their bodies; and, once the token has
		// verified, a share of them per device.
		Admit: d.limits.AdmitProxied, AdmitDevice: d.limits.AdmitDevice}); err != nil {
		return err
	}
	panics := func(transport string) { d.metrics.Panics(transport).Inc() }
	d.metrics.Panics(accesslog.TransportHTTP1) // the series exist from the start, at 0
	d.metrics.Panics(accesslog.TransportHTTP3)
	access := accesslog.New(accesslog.Config{Log: d.log, Now: d.opts.Now, Panicked: panics})
	if d.cfg.TLS() {
		if err := d.buildTLS(); err != nil {
			return err
		}
	}
	altSvc := ""
	if d.cfg.HTTP3Listen.IsValid() {
		for _, w := range udpBufferWarnings(d.opts.ReadFile) {
			d.log.Warn("udp buffer check", "problem", w)
		}
		dep, err := d.reg.Deployment()
		if err != nil {
			return err
		}
		// The proxy moves a stream's deadlines itself, once it has matched
		// an API and the token passed: through the access log's writer,
		// which unwraps to quic-go's.
		h3h := access.WrapHTTP(withProxy(d.proxy, h3api.New(h3api.Config{Handler: handler(tm.observer(d.metrics, accesslog.TransportHTTP3))})))
		if d.h3, err = listenHTTP3(ctx, d.cfg.HTTP3Listen.String(), dep, d.tls, http3Config(d.cfg, h3h, d.log)); err != nil {
			if errors.Is(err, errQUICKeys) {
				err = fmt.Errorf("%w; create them with: %s", err, d.ctlHint("init"))
			}
			return err
		}
		d.metrics.Registry().MustRegister(d.h3)
		altSvc = fmt.Sprintf(`h3=":%d"; ma=86400`, d.h3.Addr().(*net.UDPAddr).Port)
	}
	d.http1 = fastapi.New(fastapi.Config{Handler: handler(tm.observer(d.metrics, accesslog.TransportHTTP1)), Log: d.log, AltSvc: altSvc,
		ReadTimeout: d.cfg.ReadTimeout, WriteTimeout: d.cfg.WriteTimeout, IdleTimeout: d.cfg.IdleTimeout,
		Extra: d.proxy.HandleFasthttp, Panicked: func() { panics(accesslog.TransportHTTP1) }, Middleware: access})
	// No general OPTIONS * answer: a target that names no endpoint is
	// not_found (adminMux).
	d.admin = &http.Server{Handler: d.adminMux(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, DisableGeneralOptionsHandler: true}
	return d.bind(ctx)
}

// buildTLS loads the certificate and installs the deployment's
// session-ticket keys.
func (d *Daemon) buildTLS() error {
	var err error
	if d.tls, err = newTLSState(d.cfg.TLSCert, d.cfg.TLSKey); err != nil {
		return err
	}
	dep, err := d.reg.Deployment()
	if err != nil {
		return err
	}
	if _, err := d.tls.setTicketKeys(dep.TLSSessionTickets); err != nil {
		return err
	}
	d.own.certNotAfter.Set(float64(d.tls.notAfter().Unix()))
	return nil
}

// bind takes the socket-activated listeners and binds the others.
func (d *Daemon) bind(ctx context.Context) error {
	var err error
	if d.ln, err = d.listener(ctx, fdNameHTTP, d.cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if d.tlsLn, err = d.listener(ctx, fdNameHTTPS, d.cfg.TLSListen); err != nil {
		return fmt.Errorf("tls listen: %w", err)
	}
	if d.tlsLn != nil {
		if d.tls == nil {
			return errors.New("tls listen: a socket named https was passed but no --tls-cert is configured")
		}
		d.tlsLn = fastapi.TLSListener(d.tlsLn, d.tls.listenerConfig())
	}
	if d.adminLn, err = d.listener(ctx, fdNameAdmin, d.cfg.AdminListen); err != nil {
		return fmt.Errorf("admin listen: %w", err)
	}
	if d.adminLn == nil {
		return errors.New("admin listen: no address")
	}
	return nil
}

// listener is the socket-activated listener called name, else one bound
// on addr; nil when there is neither.
func (d *Daemon) listener(ctx context.Context, name string, addr interface {
	IsValid() bool
	String() string
}) (net.Listener, error) {
	if ln, ok := d.opts.Listeners[name]; ok {
		delete(d.opts.Listeners, name)
		return ln, nil
	}
	if !addr.IsValid() {
		return nil, nil
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr.String())
}

// Addr is the bound public address: the plaintext listener's, else the
// HTTPS one's. AdminAddr is the admin one.
func (d *Daemon) Addr() net.Addr {
	if d.ln != nil {
		return d.ln.Addr()
	}
	return d.tlsLn.Addr()
}

// AdminAddr is the admin listener's address.
func (d *Daemon) AdminAddr() net.Addr { return d.adminLn.Addr() }

// TLSAddr is the HTTPS listener's address, nil without one.
func (d *Daemon) TLSAddr() net.Addr {
	if d.tlsLn == nil {
		return nil
	}
	return d.tlsLn.Addr()
}

// HTTP3Addr is the HTTP/3 listener's UDP address, nil without one.
func (d *Daemon) HTTP3Addr() net.Addr {
	if d.h3 == nil {
		return nil
	}
	return d.h3.Addr()
}

// withProxy sends /v1/proxy/… to the secrets proxy and the rest to next,
// deciding on the path as the client sent it (as the HTTP/1.1 listener
// does), never on the decoded r.URL.Path. Nothing else decides on the
// path before it: the proxy's longer deadlines and its admission are
// taken inside the proxy, after this decision.
func withProxy(p *proxy.Proxy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.HandleHTTP(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}
