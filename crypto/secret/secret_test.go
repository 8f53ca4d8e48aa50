package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const raw = "sk_live_do_not_print_me"
	v := FromString(raw)
	type holder struct {
		Name   string
		Key    Value
		Ptr    *Value
		hidden Value            // fmt prints unexported fields by reflection
		inMap  map[string]Value // and map values it cannot address
		inList []Value
	}
	h := holder{Name: "n", Key: v, Ptr: &v, hidden: v, inMap: map[string]Value{"k": v}, inList: []Value{v}}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p", "%b", "%o", "%t"} {
		outs = append(outs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, h))
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j), fmt.Errorf("wrap: %v", v).Error())
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "k", v, "h", h)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "k", v)
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, raw) || strings.Contains(o, fmt.Sprintf("%x", raw)) || strings.Contains(o, fmt.Sprint([]byte(raw))) {
			t.Errorf("secret leaked in %q", o)
		}
	}
	if !reflect.DeepEqual(h, holder{Name: "n", Key: FromString(raw), Ptr: &v, hidden: FromString(raw),
		inMap: map[string]Value{"k": FromString(raw)}, inList: []Value{FromString(raw)}}) {
		t.Fatal("reflect.DeepEqual must compare Values by content")
	}
	if reflect.DeepEqual(v, FromString("other")) {
		t.Fatal("different Values DeepEqual")
	}
	if string(v.Reveal()) != raw {
		t.Fatal("Reveal lost the bytes")
	}
}

func TestUnmarshalAndEqual(t *testing.T) {
	var v Value
	if err := json.Unmarshal([]byte(`"abc"`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Equal(FromString("abc")) || v.Equal(FromString("abd")) || v.Len() != 3 {
		t.Fatal("Equal/Len wrong")
	}
	if err := json.Unmarshal([]byte(`12`), &v); err == nil {
		t.Fatal("non-string accepted")
	}
	b := []byte("xy")
	n := New(b)
	b[0] = 'z'
	if string(n.Reveal()) != "xy" {
		t.Fatal("New must copy")
	}
}
