package state

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

func TestExportRedactsUnlessRevealed(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	b, err := Export(snap, seal, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(b)
	for _, plain := range []string{"SECRET-maps-value-0001", hsSecret("A"), hsSecret("B")} {
		if bytes.Contains(out, []byte(plain)) {
			t.Errorf("redacted export shows a secret")
		}
	}
	if !strings.Contains(string(out), `"secret":"[redacted]"`) || !strings.Contains(string(out), `"value":"[redacted]"`) {
		t.Errorf("redacted export: %s", out)
	}
	if b.Accounts[0].ID != "acme" || b.Apps[0].ID != "com.example.shop" || b.Bans == nil {
		t.Errorf("export order/content: %+v", b)
	}
	// A redacted export cannot be imported back over the secrets.
	if _, err := Apply(snap, b, seal, rand.Reader); err == nil {
		t.Fatal("redacted export imported")
	}

	rb, err := Export(snap, seal, true)
	if err != nil {
		t.Fatal(err)
	}
	js, err := MarshalRevealed(rb)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte("SECRET-maps-value-0001")) || !bytes.Contains(js, []byte(hsSecret("A"))) {
		t.Fatal("revealed export lacks secrets")
	}
	// The revealed export reads back as the same bundle and re-imports to
	// no change.
	back, err := model.DecodeBundle(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rb) {
		t.Fatalf("revealed round trip:\n got %+v\nwant %+v", back, rb)
	}
	ch, err := Apply(snap, back, seal, rand.Reader)
	if err != nil || !ch.Empty() {
		t.Fatalf("re-import: %v, %d puts", err, len(ch.Put))
	}
}

func TestDemoBundle(t *testing.T) {
	seal := newTestSealer(t)
	b, info, err := DemoBundle(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if info.AccountID != "demo" || info.AppID != "com.example.demo" || info.Version != "1.0.0" ||
		len(info.CodeDigest) != 32 || len(info.Signer) != 32 || len(b.Accounts[0].Pins["api.example.com"]) != 2 ||
		!b.Accounts[0].Token.Annotate {
		t.Fatalf("demo: %+v", info)
	}
	b2, info2, _ := DemoBundle(rand.Reader)
	if !bytes.Equal(info.CodeDigest, info2.CodeDigest) || !bytes.Equal(info.Signer, info2.Signer) {
		t.Fatal("demo digests are not fixed")
	}
	if b.Accounts[0].Keys[0].Secret.Equal(b2.Accounts[0].Keys[0].Secret) {
		t.Fatal("demo key is not random")
	}
	var did bool
	snap := run(t, emptySnap(), SeedDemo(seal, rand.Reader, &did))
	if !did {
		t.Fatal("not seeded")
	}
	reg, err := DecodeAll(snap, seal)
	if err != nil || reg.Accounts["demo"] == nil || reg.Deployment == nil {
		t.Fatalf("seeded: %v %+v", err, reg)
	}
	ch, err := SeedDemo(seal, rand.Reader, &did)(snap)
	if err != nil || did || !ch.Empty() {
		t.Fatalf("second seed: %v %v %v", err, did, ch)
	}
}
