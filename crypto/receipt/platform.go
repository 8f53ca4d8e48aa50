package receipt

import "fmt"

// App platforms (app.platform, PROTOCOL.md §2).
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// PlatformOf returns the app platform whose evidence a receipt format is
// made from (PROTOCOL.md §7, 1.1): PlatformAndroid for android-key and
// play-integrity, PlatformIOS for apple-appattest, "" for any other.
func PlatformOf(format string) string {
	switch format {
	case FormatAndroidKey, FormatPlayIntegrity:
		return PlatformAndroid
	case FormatAppleAppAttest:
		return PlatformIOS
	}
	return ""
}

// ForPlatform checks that r was made from evidence of the app's platform:
// an android-key or play-integrity receipt only for an android app, an
// apple-appattest one only for an ios app. A receipt names its app, so this
// refuses one issued while the app had another platform (re-registered
// under the same id). An error wraps ErrPlatform.
func (r Receipt) ForPlatform(platform string) error {
	if p := PlatformOf(r.Format); p == "" || p != platform {
		return fmt.Errorf("%w: a %q receipt for a %q app", ErrPlatform, r.Format, platform)
	}
	return nil
}
