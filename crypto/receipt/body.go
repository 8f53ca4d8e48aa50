package receipt

import (
	"encoding/binary"
	"time"
)

// The receipt body, version r1, is binary:
//
//	iat int64 | exp int64 (Unix seconds, big-endian) | flags uint8
//	then app, did, fmt, sec, boot, env: each a uint8 length and that many bytes
//	then extension items (PROTOCOL.md §9), each tag uint8 | length uint8 | value,
//	tags strictly increasing, every one known (android.go)
//
// and nothing after. A receipt issued before §9 has no extension items.
// Flags: bit 0 device locked (Android); bits 1-6 the Play Integrity
// verdicts of PlayVerdicts (§10): MEETS_BASIC_INTEGRITY,
// MEETS_DEVICE_INTEGRITY, MEETS_STRONG_INTEGRITY, PLAY_RECOGNIZED,
// LICENSED, NO_ISSUES. A receipt made before bits 1-6 existed has them
// clear, and reads as it did.
const (
	bodyFixed   = 8 + 8 + 1
	flagLocked  = 1
	flagsPlay   = 0x7e // bits 1-6: PlayVerdicts.flags
	flagsKnown  = flagLocked | flagsPlay
	maxFieldLen = 255
	bodyFields  = 6
)

func encodeBody(r Receipt, iat, exp int64) ([]byte, error) {
	fields := [bodyFields]string{r.AppID, r.DID, r.Format, r.SecurityLevel, r.BootState, r.Environment}
	n := bodyFixed
	for _, f := range fields {
		if len(f) > maxFieldLen {
			return nil, errBody
		}
		n += 1 + len(f)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, uint64(iat))
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	var flags byte
	if r.DeviceLocked {
		flags |= flagLocked
	}
	flags |= r.Play.flags()
	b = append(b, flags)
	for _, f := range fields {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	return appendAndroid(b, r.Android), nil
}

func decodeBody(b []byte) (Receipt, error) {
	if len(b) < bodyFixed+bodyFields {
		return Receipt{}, errBody
	}
	iat := int64(binary.BigEndian.Uint64(b[0:8]))
	exp := int64(binary.BigEndian.Uint64(b[8:16]))
	flags := b[16]
	if flags&^flagsKnown != 0 {
		return Receipt{}, errBody
	}
	b = b[bodyFixed:]
	var fields [bodyFields]string
	for i := range fields {
		if len(b) < 1 || int(b[0]) > len(b)-1 {
			return Receipt{}, errBody
		}
		n := int(b[0])
		fields[i] = intern(b[1 : 1+n])
		b = b[1+n:]
	}
	android, err := decodeAndroid(b)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{
		Android: android,
		AppID:   fields[0], DID: fields[1], Format: fields[2],
		SecurityLevel: fields[3], BootState: fields[4], Environment: fields[5],
		DeviceLocked: flags&flagLocked != 0,
		Play:         playFromFlags(flags),
		IssuedAt:     time.Unix(iat, 0).UTC(), ExpiresAt: time.Unix(exp, 0).UTC(),
	}, nil
}

// intern returns the common field values without allocating.
func intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case FormatAndroidKey:
		return FormatAndroidKey
	case FormatAppleAppAttest:
		return FormatAppleAppAttest
	case FormatPlayIntegrity:
		return FormatPlayIntegrity
	case "software":
		return "software"
	case "tee":
		return "tee"
	case "strongbox":
		return "strongbox"
	case "verified":
		return "verified"
	case "self_signed":
		return "self_signed"
	case "unverified":
		return "unverified"
	case "failed":
		return "failed"
	case "production":
		return "production"
	case "development":
		return "development"
	}
	return string(b)
}
