package ctl

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func pinCommands() []*command {
	return []*command{{
		name:    "pin add",
		args:    "ACCOUNT HOST FILE... [--force]",
		summary: "pin HOST to the keys of PEM certificates or public keys",
		help: `Each FILE holds one PEM certificate or public key; its pin is the b64
SHA-256 of its SubjectPublicKeyInfo (RFC 7469 pin-sha256). Apps receive the
account's pins with every verdict.

A host left with a single pin is refused unless --force: an app pinned to
one key cannot survive that key's rotation. Give a backup key too.`,
		minArgs: 3, maxArgs: -1,
		setup: func(fs *flag.FlagSet) action {
			force := fs.Bool("force", false, "allow a host with a single pin")
			return func(ctx context.Context, r *runner, args []string) error {
				var pins []string
				for _, f := range args[2:] {
					p, err := pinFromFile(f)
					if err != nil {
						return err
					}
					pins = append(pins, p)
				}
				host := strings.ToLower(args[1])
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.AddPins(seal, args[0], host, pins, *force)
				}, "host %s of account %s pinned to %s", host, args[0], strings.Join(pins, ", "))
			}
		},
	}, {
		name:    "pin remove",
		args:    "ACCOUNT HOST PIN|FILE [--force]",
		summary: "remove one pin of a host (given as b64 pin or PEM file)",
		help: `Removing a host's last pin unpins the host. Leaving it with a single pin is
refused unless --force.`,
		minArgs: 3, maxArgs: 3,
		setup: func(fs *flag.FlagSet) action {
			force := fs.Bool("force", false, "allow leaving a host with a single pin")
			return func(ctx context.Context, r *runner, args []string) error {
				pin, err := pinArg(args[2])
				if err != nil {
					return err
				}
				host := strings.ToLower(args[1])
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RemovePin(seal, args[0], host, pin, *force)
				}, "pin %s removed from host %s of account %s", pin, host, args[0])
			}
		},
	}, {
		name:    "pin list",
		args:    "ACCOUNT",
		summary: "print an account's pins as JSON",
		help: `Prints {"host": ["pin", ...]}: the pins every verdict of the account's apps
carries (b64 SHA-256 of each SubjectPublicKeyInfo).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				a, err := r.account(ctx, args[0])
				if err != nil {
					return err
				}
				pins := a.Pins
				if pins == nil {
					pins = map[string][]string{}
				}
				return r.printJSON(pins)
			}
		},
	}}
}

// pinArg is a b64 pin as given, or the pin of a PEM file of that name.
func pinArg(arg string) (string, error) {
	if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
		if !model.IsDigest(base64.StdEncoding.Strict(), arg) {
			return "", fmt.Errorf("%q is neither a file nor a pin (b64 of a SHA-256)", arg)
		}
		return arg, nil
	}
	return pinFromFile(arg)
}

// maxPEMFile bounds a PEM file of pin add and pin remove: one certificate
// (a few KiB, under 16 KiB even with an RSA-8192 key) or public key, and
// room for comments. A larger file, or a device that never ends, is
// refused after maxPEMFile+1 bytes.
const maxPEMFile = 64 << 10

func pinFromFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxPEMFile {
		return "", fmt.Errorf("%s: larger than %d bytes: give one PEM certificate or public key", name, maxPEMFile)
	}
	p, err := PinFromPEM(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// PinFromPEM returns the pin-sha256 (b64 SHA-256 of the SubjectPublicKeyInfo)
// of the single PEM certificate or public key in data. Private keys are
// refused.
func PinFromPEM(data []byte) (string, error) {
	var spki []byte
	found := 0
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch {
		case strings.Contains(blk.Type, "PRIVATE KEY"):
			return "", errors.New("holds a private key: give the certificate or the public key")
		case blk.Type == "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return "", fmt.Errorf("certificate: %w", err)
			}
			spki = cert.RawSubjectPublicKeyInfo
			found++
		case blk.Type == "PUBLIC KEY":
			if _, err := x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
				return "", fmt.Errorf("public key: %w", err)
			}
			spki = blk.Bytes
			found++
		}
	}
	switch found {
	case 0:
		return "", errors.New("no PEM CERTIFICATE or PUBLIC KEY found")
	case 1:
		sum := sha256.Sum256(spki)
		return base64.StdEncoding.EncodeToString(sum[:]), nil
	default:
		return "", fmt.Errorf("holds %d certificates or keys: give one per file", found)
	}
}
