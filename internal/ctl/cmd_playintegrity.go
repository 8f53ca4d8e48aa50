package ctl

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/verify/playintegrity"
)

// maxKeyFile bounds a key file read (a key is under 200 bytes of text).
const maxKeyFile = 4 << 10

const playKeysHelp = `The keys come from Play Console: Release > App integrity > Play Integrity
API > Response encryption, "manage and download" the response encryption
keys. The download, once decrypted, holds the decryption key (base64 of
32 bytes, AES-256) and the verification key (base64 of an EC P-256 public
key). Put each in its own file and name the files with
--decryption-key-file and --verification-key-file; '-' reads that one
from standard input. The keys are never taken from the command line, so
they do not show in ps or shell history. A file may hold the key as
base64 (standard or URL-safe, padded or not, whitespace ignored) and the
verification key also as a PEM "PUBLIC KEY" block. The keys are sealed in
the store with the master key, never printed, and redacted by export and
get.`

func playIntegrityCommands() []*command {
	return []*command{{
		name:    "play-integrity set",
		args:    "ACCOUNT APP --decryption-key-file FILE --verification-key-file FILE",
		summary: "set an android app's Play Integrity keys (read from files or standard input, never argv)",
		help: playKeysHelp + `

set replaces the app's keys, a previous pair of a rotation included. To
change keys while tokens made with the old ones may be in flight, use
rotate.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action { return playSetAction(fs, false) },
	}, {
		name:    "play-integrity rotate",
		args:    "ACCOUNT APP --decryption-key-file FILE --verification-key-file FILE",
		summary: "make new Play Integrity keys current, keeping the current pair as the previous one",
		help: playKeysHelp + `

Play Console switches an app to new keys at once, and tokens requested
just before are still on their way (for at most the nonce lifetime). Run
rotate as soon as you have the new keys: both pairs are then accepted, the
new one first. Any older previous pair is dropped. When the old keys are no
longer needed (a few minutes later), run 'play-integrity end-rotation'.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action { return playSetAction(fs, true) },
	}, {
		name:    "play-integrity end-rotation",
		args:    "ACCOUNT APP",
		summary: "stop accepting an app's previous Play Integrity keys",
		help: `After 'play-integrity rotate', the previous pair stays accepted so that the
tokens Play made with it just before the switch in Play Console still
verify. Once the nonce lifetime has passed since the switch, end the
rotation: the previous pair is removed and only the current one decrypts.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.EndPlayRotation(seal, args[0], args[1])
				}, "app %s of account %s accepts its current Play Integrity keys only", args[1], args[0])
			}
		},
	}, {
		name:    "play-integrity remove",
		args:    "ACCOUNT APP",
		summary: "remove an app's Play Integrity keys (its Play tokens fail from then on)",
		help: `Removes both pairs of the app's Play Integrity keys. Its play-integrity
evidence then fails (platform_attestation_invalid, play_unconfigured);
receipts already issued from Play verdicts keep standing until they expire.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RemovePlayIntegrity(seal, args[0], args[1])
				}, "Play Integrity keys of app %s of account %s removed", args[1], args[0])
			}
		},
	}, {
		name:    "play-integrity show",
		args:    "ACCOUNT APP",
		summary: "print which Play Integrity keys an app has: fingerprints of the verification keys, never a key",
		help: `Prints, as JSON, whether the app has Play Integrity keys and a previous pair
in rotation, with the SHA-256 fingerprint of each verification key (to
compare with Play Console's). No key is ever printed.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action { return runPlayShow },
	}}
}

func playSetAction(fs *flag.FlagSet, rotate bool) action {
	decFile := fs.String("decryption-key-file", "", "read the decryption key from `FILE` ('-': standard input)")
	verFile := fs.String("verification-key-file", "", "read the verification key from `FILE` ('-': standard input)")
	return func(ctx context.Context, r *runner, args []string) error {
		if *decFile == "" || *verFile == "" {
			return usagef("--decryption-key-file and --verification-key-file are required")
		}
		if *decFile == "-" && *verFile == "-" {
			return usagef("only one of the key files can be standard input")
		}
		keys, err := readPlayKeys(r, *decFile, *verFile)
		if err != nil {
			return err
		}
		verb := "set"
		if rotate {
			verb = "rotated (the previous pair is still accepted until end-rotation)"
		}
		return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
			return state.SetPlayIntegrity(seal, args[0], args[1], keys, rotate)
		}, "Play Integrity keys of app %s of account %s %s", args[1], args[0], verb)
	}
}

// readPlayKeys reads both key files and brings each to the bundle's form
// (standard base64), checking that it parses; an error names the file's
// flag, never the key.
func readPlayKeys(r *runner, decFile, verFile string) (model.PlayKeys, error) {
	dec, err := readKeyFile(r, decFile, false)
	if err != nil {
		return model.PlayKeys{}, fmt.Errorf("--decryption-key-file: %w", err)
	}
	if _, err := playintegrity.ParseDecryptionKey(dec.Reveal()); err != nil {
		return model.PlayKeys{}, fmt.Errorf("--decryption-key-file: not a 32-byte AES-256 key in base64")
	}
	ver, err := readKeyFile(r, verFile, true)
	if err != nil {
		return model.PlayKeys{}, fmt.Errorf("--verification-key-file: %w", err)
	}
	if _, err := playintegrity.ParseVerificationKey(ver.Reveal()); err != nil {
		return model.PlayKeys{}, fmt.Errorf("--verification-key-file: not an EC P-256 public key (SPKI DER in base64, or PEM)")
	}
	return model.PlayKeys{DecryptionKey: dec, VerificationKey: ver}, nil
}

// readKeyFile reads a key (at most maxKeyFile bytes) from file, or from
// standard input for "-", and returns it as standard base64: the text with
// its whitespace removed, decoded as base64 of any of the four alphabets
// (or, when pemOK, a PEM block's bytes), encoded again.
func readKeyFile(r *runner, file string, pemOK bool) (secret.Value, error) {
	var src io.Reader = r.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return secret.Value{}, err
		}
		defer f.Close()
		src = f
	}
	data, err := io.ReadAll(io.LimitReader(src, maxKeyFile+1))
	defer clear(data)
	if err != nil {
		return secret.Value{}, err
	}
	if len(data) > maxKeyFile {
		return secret.Value{}, fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	var raw []byte
	if blk, _ := pem.Decode(data); pemOK && blk != nil && blk.Type == "PUBLIC KEY" {
		raw = blk.Bytes
	} else {
		text := bytes.Join(bytes.Fields(data), nil)
		defer clear(text)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if raw, err = enc.Strict().DecodeString(string(text)); err == nil {
				break
			}
		}
		if err != nil || len(raw) == 0 {
			return secret.Value{}, fmt.Errorf("not base64")
		}
	}
	defer clear(raw)
	return secret.FromString(base64.StdEncoding.EncodeToString(raw)), nil
}

type playKeyInfo struct {
	App      string `json:"app"`
	Current  string `json:"current_verification_key_sha256,omitempty"`
	Previous string `json:"previous_verification_key_sha256,omitempty"`
}

func runPlayShow(ctx context.Context, r *runner, args []string) error {
	_, reg, err := r.load(ctx)
	if err != nil {
		return err
	}
	a := reg.Apps[args[1]]
	if a == nil || a.Account != args[0] {
		return fmt.Errorf("%w: app %q of account %q", state.ErrNotFound, args[1], args[0])
	}
	info := playKeyInfo{App: a.ID}
	if pi := a.PlayIntegrity; pi != nil {
		info.Current = playFingerprint(&pi.PlayKeys)
		if pi.Previous != nil {
			info.Previous = playFingerprint(pi.Previous)
		}
	}
	return r.printJSON(info)
}

// playFingerprint is the b64u SHA-256 of the pair's verification key SPKI.
func playFingerprint(k *model.PlayKeys) string {
	p, err := playintegrity.NewKeyPair(k.DecryptionKey.Reveal(), k.VerificationKey.Reveal())
	if err != nil {
		return "(does not parse)"
	}
	return p.Fingerprint()
}
