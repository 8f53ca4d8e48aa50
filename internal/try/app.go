package try

import (
	"encoding/base64"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

// target is the app try claims to be, and where its values came from.
type target struct {
	client.App
	source string
	demo   bool
}

// resolveApp picks the app from the flags: the demo, --app with its
// values, or an app of --bundle. Errors name the flag at fault.
func (f *flags) resolveApp() (target, error) {
	switch {
	case f.bundle != "":
		return f.bundleApp()
	case f.app != "":
		return f.flagApp()
	}
	for name, v := range map[string]string{"--signer": f.signer, "--code-digest": f.code} {
		if v != "" {
			return target{}, fmt.Errorf("%s needs --app (or --bundle): without them try attests the demo app", name)
		}
	}
	d := state.Demo()
	t := target{App: client.App{ID: d.AppID, Version: d.Version, Platform: d.Platform, Signer: d.Signer, CodeDigest: d.CodeDigest},
		source: "the demo", demo: true}
	if f.version != "" {
		t.Version = f.version
	}
	if f.platform != "" {
		t.Platform = f.platform
	}
	return t, nil
}

func (f *flags) flagApp() (target, error) {
	if err := model.ValidateID("--app", f.app); err != nil {
		return target{}, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), model.ErrInvalid.Error()+": "))
	}
	if f.signer == "" && f.code == "" && f.debugToken != "" {
		// A debug token waives signer, version and measurement: send the
		// demo's values under the app's id.
		d := state.Demo()
		if f.version == "" {
			f.version = d.Version
		}
		p := f.platform
		if p == "" {
			p = d.Platform
		}
		return target{App: client.App{ID: f.app, Version: f.version, Platform: p, Signer: d.Signer, CodeDigest: d.CodeDigest},
			source: "with a debug token"}, nil
	}
	if f.signer == "" || f.code == "" {
		return target{}, fmt.Errorf("--app %s needs --signer and --code-digest: the values registered for the app (or take them from a bundle with --bundle FILE)", f.app)
	}
	if f.version == "" {
		return target{}, fmt.Errorf("--version: required with --app (the version the --code-digest is registered for)")
	}
	signer, err := digest("--signer", f.signer)
	if err != nil {
		return target{}, err
	}
	code, err := digest("--code-digest", f.code)
	if err != nil {
		return target{}, err
	}
	p := f.platform
	if p == "" {
		p = model.PlatformAndroid
	}
	if p != model.PlatformAndroid && p != model.PlatformIOS {
		return target{}, fmt.Errorf("--platform: must be android or ios, not %q", p)
	}
	return target{App: client.App{ID: f.app, Version: f.version, Platform: p, Signer: signer, CodeDigest: code}, source: "values given"}, nil
}

func digest(flag, s string) ([]byte, error) {
	v, err := ctl.ParseDigest(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return base64.RawURLEncoding.DecodeString(v)
}

// bundleApp takes the app and its values from a bundle file.
func (f *flags) bundleApp() (target, error) {
	if f.signer != "" || f.code != "" {
		return target{}, fmt.Errorf("--bundle takes the signer and code digest from the bundle: drop --signer and --code-digest")
	}
	file, err := os.Open(f.bundle)
	if err != nil {
		return target{}, fmt.Errorf("--bundle: %w", err)
	}
	defer file.Close()
	b, err := model.DecodeBundle(file)
	if err != nil {
		return target{}, fmt.Errorf("--bundle %s: %w", f.bundle, err)
	}
	a, err := pickApp(b, f.app)
	if err != nil {
		return target{}, fmt.Errorf("--bundle %s: %w", f.bundle, err)
	}
	version := f.version
	if version == "" {
		if len(a.Versions) != 1 {
			return target{}, fmt.Errorf("--version: app %s of %s has versions %s: say which", a.ID, f.bundle, strings.Join(sortedKeys(a.Versions), ", "))
		}
		version = sortedKeys(a.Versions)[0]
	}
	code, ok := a.Versions[version]
	if !ok {
		return target{}, fmt.Errorf("--version: app %s of %s has no version %q (it has %s)", a.ID, f.bundle, version, strings.Join(sortedKeys(a.Versions), ", "))
	}
	if len(a.Signers) == 0 {
		return target{}, fmt.Errorf("--bundle %s: app %s has no signer", f.bundle, a.ID)
	}
	signer, err1 := base64.RawURLEncoding.DecodeString(a.Signers[0])
	cd, err2 := base64.RawURLEncoding.DecodeString(code)
	if err1 != nil || err2 != nil {
		return target{}, fmt.Errorf("--bundle %s: app %s: signer or code digest is not b64u", f.bundle, a.ID)
	}
	if f.platform != "" && f.platform != a.Platform {
		return target{}, fmt.Errorf("--platform %s: app %s of %s is %s", f.platform, a.ID, f.bundle, a.Platform)
	}
	return target{App: client.App{ID: a.ID, Version: version, Platform: a.Platform, Signer: signer, CodeDigest: cd},
		source: "values of " + f.bundle}, nil
}

func pickApp(b *model.Bundle, id string) (*model.App, error) {
	var ids []string
	for i := range b.Apps {
		if b.Apps[i].ID == id || id == "" && len(b.Apps) == 1 {
			return &b.Apps[i], nil
		}
		ids = append(ids, b.Apps[i].ID)
	}
	sort.Strings(ids)
	switch {
	case len(ids) == 0:
		return nil, fmt.Errorf("the bundle registers no app")
	case id == "":
		return nil, fmt.Errorf("--app: the bundle has apps %s: say which", strings.Join(ids, ", "))
	}
	return nil, fmt.Errorf("--app: the bundle has no app %q (it has %s)", id, strings.Join(ids, ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
