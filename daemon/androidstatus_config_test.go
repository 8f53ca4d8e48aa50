package daemon

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestAndroidStatusSettings: the status list settings (PROTOCOL.md §9) are
// settings like the others (file, environment, flag, --print-config, -h);
// a URL's cache defaults to systemd's state directory; a value that bounds
// nothing, plain HTTP to a host on the network, or a max age shorter than
// the refresh is refused naming the flag.
func TestAndroidStatusSettings(t *testing.T) {
	files := map[string]string{"/etc/a.yaml": "android_status: https://android.googleapis.com/attestation/status\nandroid_status_fail: closed\n"}
	env := map[string]string{"ATTESTD_ANDROID_STATUS_MAX_AGE": "12h", "STATE_DIRECTORY": "/var/lib/attestd:/var/lib/other"}
	l, err := LoadFlags(sources([]string{"--config", "/etc/a.yaml", "--android-status-refresh", "30m"}, env, files))
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Flags.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if c.AndroidStatus != "https://android.googleapis.com/attestation/status" || !c.AndroidStatusFailClosed || c.AndroidStatusMaxAge != 12*time.Hour ||
		c.AndroidStatusRefresh != 30*time.Minute || c.AndroidStatusCache != "/var/lib/attestd/android-status.json" {
		t.Errorf("loaded %+v", c)
	}
	var out bytes.Buffer
	if err := l.WriteConfig(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"android_status: https://android.googleapis.com/attestation/status # file", "android_status_fail: closed # file",
		"android_status_max_age: 12h0m0s # env", "android_status_refresh: 30m0s # flag",
		"android_status_cache: /var/lib/attestd/android-status.json # state-directory"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out.String())
		}
	}
	d := DefaultFlags()
	if d.AndroidStatusRefresh != time.Hour || d.AndroidStatusMaxAge != 24*time.Hour || d.AndroidStatusFail != "open" || d.AndroidStatus != "" {
		t.Errorf("defaults %+v", d)
	}
	// A file source has no cache, and none is made up for it.
	l, _ = LoadFlags(sources([]string{"--android-status", "/etc/attestd/status.json"}, env, nil))
	if l.Flags.AndroidStatusCache != "" {
		t.Errorf("a file source got the cache %q", l.Flags.AndroidStatusCache)
	}
	var help bytes.Buffer
	LoadFlags(Sources{Args: []string{"-h"}, Stderr: &help})
	for _, flag := range []string{"-android-status ", "-android-status-cache", "-android-status-refresh", "-android-status-max-age", "-android-status-fail"} {
		if !strings.Contains(help.String(), flag) {
			t.Errorf("attestd -h lacks %s", flag)
		}
	}
}

// TestAndroidStatusSettingsRefused: absurd status list settings, and a
// plain-HTTP list from the network, are refused at start.
func TestAndroidStatusSettingsRefused(t *testing.T) {
	url := func(f *Flags) { f.AndroidStatus = "https://android.googleapis.com/attestation/status" }
	for name, tc := range map[string]struct {
		edit func(*Flags)
		want string
	}{
		"plain-http-to-the-network": {func(f *Flags) { f.AndroidStatus = "http://android.googleapis.com/attestation/status" }, "--android-status"},
		"plain-http-localhost-name": {func(f *Flags) { f.AndroidStatus = "http://localhost:8000/status" }, "--android-status"},
		"ftp":                       {func(f *Flags) { f.AndroidStatus = "ftp://127.0.0.1/status" }, "--android-status"},
		"fail-mode":                 {func(f *Flags) { f.AndroidStatusFail = "maybe" }, "--android-status-fail"},
		"refresh-zero":              {func(f *Flags) { url(f); f.AndroidStatusRefresh = 0 }, "--android-status-refresh"},
		"refresh-a-second":          {func(f *Flags) { url(f); f.AndroidStatusRefresh = time.Second }, "--android-status-refresh"},
		"refresh-a-week":            {func(f *Flags) { url(f); f.AndroidStatusRefresh = 7 * 24 * time.Hour }, "--android-status-refresh"},
		"max-age-zero":              {func(f *Flags) { url(f); f.AndroidStatusMaxAge = 0 }, "--android-status-max-age"},
		"max-age-ten-years":         {func(f *Flags) { url(f); f.AndroidStatusMaxAge = 10 * 8760 * time.Hour }, "--android-status-max-age"},
		"max-age-below-refresh":     {func(f *Flags) { url(f); f.AndroidStatusMaxAge = 30 * time.Minute }, "longer than --android-status-refresh"},
		"cache-for-a-file":          {func(f *Flags) { f.AndroidStatus, f.AndroidStatusCache = "/s.json", "/c.json" }, "--android-status-cache"},
		"cache-without-source":      {func(f *Flags) { f.AndroidStatusCache = "/c.json" }, "--android-status-cache"},
	} {
		t.Run(name, func(t *testing.T) {
			f := DefaultFlags()
			tc.edit(&f)
			if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheckConfigStatusURL: check-config takes a status URL as a URL (it
// is not opened as a file, nor fetched), and still opens a status file.
func TestCheckConfigStatusURL(t *testing.T) {
	var out, errb bytes.Buffer
	store := "file://" + t.TempDir()
	if code := Main(t.Context(), []string{"check-config", "--store", store, "--android-status", "https://android.googleapis.com/attestation/status"}, &out, &errb); code != 0 {
		t.Errorf("check-config with a status URL: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(t.Context(), []string{"check-config", "--store", store, "--android-status", "/nonexistent/status.json"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--android-status") {
		t.Errorf("check-config with a missing status file: %d %q", code, errb.String())
	}
}
