package daemon

import (
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// Logs name settings as operators set them: by their flag names (the
// configuration file's keys with - for _), never by Config's Go field
// names. A reload that meets changed settings it cannot apply says
// "settings=listen,issuer", not "settings=Listen,Issuer".

// subSettings are the Config fields that hold several settings, with the
// prefix of their settings' flag names and the sub-fields that have no
// flag of their own (they never differ between two loads).
var subSettings = map[string]struct {
	prefix string
	names  map[string]string // sub-field → flag name, where kebab() is not it
	none   []string
}{
	"Limits": {none: []string{"QueueInterval", "TableSize", "IPv6Prefix", "Seed"}},
	"Etcd": {prefix: "etcd-", names: map[string]string{"CAFile": "ca", "CertFile": "cert", "KeyFile": "key", "Username": "user",
		"SnapshotFile": "!snapshot"}, none: []string{"Now"}},
	"Pyroscope": {prefix: "pyroscope-"},
}

// topNames are the top-level Config fields whose flag kebab() does not
// give.
var topNames = map[string]string{
	"AndroidStatusFailClosed": "android-status-fail",
}

// settingFlags names the settings of Config field f (a sub-field "Etcd.CAFile"
// included) by their flags; nil for a sub-field that has none.
func settingFlag(field string) string {
	top, sub, nested := strings.Cut(field, ".")
	if !nested {
		if name, ok := topNames[top]; ok {
			return name
		}
		return kebab(top)
	}
	s := subSettings[top]
	if slices.Contains(s.none, sub) {
		return ""
	}
	name, ok := s.names[sub]
	if !ok {
		name = kebab(sub)
	}
	if abs, ok := strings.CutPrefix(name, "!"); ok {
		return abs
	}
	return s.prefix + name
}

// kebab turns a Go field name into a flag name: TLSListen → tls-listen,
// HTTP3MaxConnsPerIP → http3-max-conns-per-ip.
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		upper := unicode.IsUpper(c)
		if i > 0 && upper {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) && i > 1 && unicode.IsLower(r[i-2])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || nextLower && unicode.IsUpper(r[i-1]) || nextLower && unicode.IsDigit(r[i-1]) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// changedSettings names, by flag, the settings that differ between a and
// b, leaving out the Config fields skip lists.
func changedSettings(a, b Config, skip []string) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		if slices.Contains(skip, name) {
			continue
		}
		fa, fb := va.Field(i), vb.Field(i)
		if _, nested := subSettings[name]; nested && fa.Kind() == reflect.Struct {
			for j := 0; j < fa.NumField(); j++ {
				if fa.Field(j).Kind() == reflect.Func || !fa.Type().Field(j).IsExported() {
					continue
				}
				if !reflect.DeepEqual(fa.Field(j).Interface(), fb.Field(j).Interface()) {
					if f := settingFlag(name + "." + fa.Type().Field(j).Name); f != "" {
						out = append(out, f)
					}
				}
			}
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			out = append(out, settingFlag(name))
		}
	}
	return out
}
