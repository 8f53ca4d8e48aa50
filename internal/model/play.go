package model

import "github.com/attestd/attestd/verify/playintegrity"

// validatePlay checks the app's Play Integrity members (PROTOCOL.md §10):
// play_min_device, and the keys, each of which must parse as the verifier
// reads it; an error names the field and never shows key bytes.
func (a *App) validatePlay(p string) error {
	switch a.Policy.PlayMinDevice {
	case "", PlayBasic, PlayDevice, PlayStrong:
	default:
		return invalid(p+".policy.play_min_device", "must be basic, device or strong")
	}
	pi := a.PlayIntegrity
	if pi == nil {
		return nil
	}
	if a.Platform != PlatformAndroid {
		return invalid(p+".play_integrity", "only android apps have Play Integrity keys")
	}
	if err := pi.PlayKeys.validate(p + ".play_integrity"); err != nil {
		return err
	}
	if pi.Previous != nil {
		return pi.Previous.validate(p + ".play_integrity.previous")
	}
	return nil
}

// validate checks that both keys parse.
func (k *PlayKeys) validate(p string) error {
	if k.DecryptionKey.IsZero() {
		return invalid(p+".decryption_key", "missing")
	}
	if _, err := playintegrity.ParseDecryptionKey(k.DecryptionKey.Reveal()); err != nil {
		return invalid(p+".decryption_key", "must be standard base64 of a 32-byte AES-256 key")
	}
	if k.VerificationKey.IsZero() {
		return invalid(p+".verification_key", "missing")
	}
	if _, err := playintegrity.ParseVerificationKey(k.VerificationKey.Reveal()); err != nil {
		return invalid(p+".verification_key", "must be standard base64 of the SPKI DER of an EC P-256 public key")
	}
	return nil
}
