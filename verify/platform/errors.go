package platform

import (
	"errors"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/playintegrity"
)

// Sentinel errors of this package. Verify also returns the verifiers'
// errors, which wrap their own sentinels.
var (
	// ErrMalformed (platform_malformed): platform_attestation is not a JSON
	// object of §7's shape, a field is missing, too long or not b64u.
	ErrMalformed = errors.New("platform: malformed platform_attestation")
	// ErrFormat (platform_format): the format is unknown, does not match
	// the app's platform, or is "receipt" where evidence is wanted.
	ErrFormat = errors.New("platform: format does not fit the app's platform")
)

// Reason names an error of ParseEvidence or Verify for arc, after
// platform_attestation_invalid: one of playintegrity's reason names (a
// play-integrity object's errors), platform_malformed, platform_format, one
// of androidkey's or appleattest's reason names, platform_invalid for
// anything else, or "" for nil.
func Reason(err error) string {
	if r := playintegrity.Reason(err); r != "" && r != playintegrity.ReasonInvalid {
		return r
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "platform_malformed"
	case errors.Is(err, ErrFormat):
		return "platform_format"
	}
	if r := androidkey.Reason(err); r != androidkey.ReasonInvalid {
		return r
	}
	if r := appleattest.Reason(err); r != appleattest.ReasonInvalid {
		return r
	}
	return "platform_invalid"
}
