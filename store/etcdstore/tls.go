package etcdstore

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSFiles names the PEM files of a TLS connection to etcd. CAFile is the
// CA that signed the members' certificates (empty: the system roots);
// CertFile and KeyFile are the client certificate and key, for clusters
// that authenticate clients by certificate (--client-cert-auth; etcd then
// takes the certificate's common name as the user when no password is
// given).
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Config returns the TLS configuration of the files, or nil when none is
// given (plain connections).
func (f TLSFiles) Config() (*tls.Config, error) {
	if f == (TLSFiles{}) {
		return nil, nil
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("%w: the etcd client certificate and key go together", ErrBadOptions)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: etcd CA: %w", ErrBadOptions, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: etcd CA %s holds no PEM certificate", ErrBadOptions, f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: etcd client certificate: %w", ErrBadOptions, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
