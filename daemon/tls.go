package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/internal/state"
)

// tlsState is the TLS configuration shared by the HTTPS and HTTP/3
// listeners: the certificate (re-read on SIGHUP) and the session-ticket
// keys of the deployment (from the store, rotated when it changes), so a
// ticket issued by one node resumes on any other. Each handshake reads the
// current *tls.Config through GetConfigForClient; updates build a new one
// and swap it atomically, so no handshake sees half a change.
type tlsState struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Config]
	mu                sync.Mutex // serialises updates
	cert              *tls.Certificate
	tickets           [][32]byte
	ticketIDs         string
}

func newTLSState(certFile, keyFile string) (*tlsState, error) {
	s := &tlsState{certFile: certFile, keyFile: keyFile}
	cert, err := loadCertificate(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	s.cert = cert
	s.publish()
	return s, nil
}

func loadCertificate(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	if cert.Leaf == nil {
		return nil, errors.New("tls certificate: no leaf certificate")
	}
	return &cert, nil
}

// publish builds and installs a config from the current fields; s.mu held
// (or s not yet shared).
func (s *tlsState) publish() {
	c := &tls.Config{
		MinVersion:   tlsMinVersion,
		Certificates: []tls.Certificate{*s.cert},
		NextProtos:   []string{"http/1.1"},
	}
	if len(s.tickets) > 0 {
		c.SetSessionTicketKeys(s.tickets)
	}
	s.cur.Store(c)
}

// config is the current configuration.
func (s *tlsState) config() *tls.Config { return s.cur.Load() }

// listenerConfig is what a listener is given: every handshake takes the
// configuration current at that moment.
func (s *tlsState) listenerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tlsMinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load(), nil
		},
	}
}

// install swaps in a certificate loaded by loadCertificate; handshakes
// from now on present it.
func (s *tlsState) install(certFile, keyFile string, cert *tls.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certFile, s.keyFile, s.cert = certFile, keyFile, cert
	s.publish()
}

// setTicketKeys installs the deployment's session-ticket keys, the active
// one first (it encrypts new tickets; the others still decrypt). It
// reports whether they changed.
func (s *tlsState) setTicketKeys(ks state.KeySet) (bool, error) {
	ids, keys, err := ticketKeys(ks)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ids == s.ticketIDs && sameKeys(keys, s.tickets) {
		return false, nil
	}
	s.tickets, s.ticketIDs = keys, ids
	s.publish()
	return true, nil
}

func ticketKeys(ks state.KeySet) (string, [][32]byte, error) {
	if _, ok := ks.Keys[ks.Active]; !ok {
		return "", nil, errors.New("tls session tickets: no active key")
	}
	order := []string{ks.Active}
	for _, id := range ks.KIDs() {
		if id != ks.Active {
			order = append(order, id)
		}
	}
	keys := make([][32]byte, 0, len(order))
	ids := ""
	for _, id := range order {
		v := ks.Keys[id]
		if v.Len() != 32 {
			return "", nil, fmt.Errorf("tls session tickets: key %s is not 32 bytes", id)
		}
		var k [32]byte
		copy(k[:], v.Reveal())
		keys = append(keys, k)
		ids += id + ","
	}
	return ids, keys, nil
}

func sameKeys(a, b [][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// notAfter is the expiry of the serving certificate.
func (s *tlsState) notAfter() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert.Leaf.NotAfter
}
