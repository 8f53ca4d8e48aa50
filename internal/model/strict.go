package model

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Bounds of the strict decoder, beyond MaxBundleBytes.
const (
	// MaxDepth is the deepest nesting of objects and arrays accepted (a
	// bundle needs 5).
	MaxDepth = 32
	// MaxMembers is the most members one object may have (an app's
	// versions, an account's pins).
	MaxMembers = 1 << 16
)

// decodeStrict decodes data, which must hold exactly one JSON value, into
// v (a pointer), refusing what encoding/json lets pass silently (PROTOCOL.md
// §8, 1.1):
//   - a repeated member, at any depth: encoding/json keeps the last one,
//     so a reviewed bundle could hide "allow_rooted": true after false;
//   - an unknown member, including one that differs from a known name only
//     in case (encoding/json would match it to the field, case-folded);
//   - anything after the value.
//
// Errors wrap ErrInvalid and name the member by its path, as validation
// does: `apps[0].policy.allow_rooted: repeated member`. Nothing is decoded
// into v unless the whole input passes.
func decodeStrict(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("model: decodeStrict wants a pointer, got %v", t)
	}
	if err := walk(data, t.Elem(), ErrInvalid); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// RefuseRepeatedMembers checks that data is one JSON value (nothing after
// it, nested at most MaxDepth deep, objects of at most MaxMembers members)
// that names no member twice in any object, at any depth; an error wraps
// ErrInvalid and names the member by its path. Unknown members are not its
// concern. The stored records of a registry (internal/state) are checked
// with it: attestctl never writes a repeated member, so one is tampering
// or corruption, and encoding/json would silently keep the last.
func RefuseRepeatedMembers(data []byte) error { return walk(data, nil, ErrJSON) }

// ErrJSON is wrapped by the errors of RefuseRepeatedMembers.
var ErrJSON = errors.New("invalid JSON")

// walk checks data, one JSON value, against type t (nil: members unknown);
// its errors wrap base.
func walk(data []byte, t reflect.Type, base error) error {
	w := &walker{dec: json.NewDecoder(bytes.NewReader(data)), fields: map[reflect.Type]map[string]reflect.Type{}, base: base}
	w.dec.UseNumber()
	if err := w.value(t, "", 0); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the value", base)
	}
	return nil
}

// walker checks the shape of a JSON document against a Go type, token by
// token. A nil type is a value whose members are not known (it decodes
// itself, or is an interface): only repeated members are refused in it.
type walker struct {
	dec    *json.Decoder
	fields map[reflect.Type]map[string]reflect.Type // cache of jsonFields
	base   error                                    // what every error wraps
}

// fail is the error about the member at path.
func (w *walker) fail(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", w.base, path, fmt.Sprintf(format, args...))
}

func (w *walker) value(t reflect.Type, path string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntaxError(path, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: its type is encoding/json's to check
	}
	if depth >= MaxDepth {
		return w.fail(orRoot(path), "nested deeper than %d", MaxDepth)
	}
	t = shape(t)
	if d == '[' {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	} else if err := w.object(t, path, depth); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != nil { // the closing delimiter
		return w.syntaxError(path, err)
	}
	return nil
}

// object walks the members of the object just opened, of type t.
func (w *walker) object(t reflect.Type, path string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = w.jsonFields(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]struct{}{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntaxError(path, err)
		}
		name, _ := tok.(string)
		p := memberPath(path, name, t != nil && t.Kind() == reflect.Map)
		if _, dup := seen[name]; dup {
			return w.fail(p, "repeated member")
		}
		if len(seen) == MaxMembers {
			return w.fail(orRoot(path), "more than %d members", MaxMembers)
		}
		seen[name] = struct{}{}
		mt := elem
		if fields != nil {
			ft, known := fields[name]
			if !known {
				return w.fail(p, "unknown member")
			}
			mt = ft
		}
		if err := w.value(mt, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shape is the type whose members a JSON value of type t is checked
// against: pointers followed, nil for a type that decodes itself or an
// interface.
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

// jsonFields maps the member names of struct t, exactly as encoding/json
// writes them, to their types (exported fields, json tag names, "-"
// skipped, untagged embedded structs promoted).
func (w *walker) jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := w.fields[t]; ok {
		return f
	}
	f := map[string]reflect.Type{}
	addFields(f, t)
	w.fields[t] = f
	return f
}

func addFields(dst map[string]reflect.Type, t reflect.Type) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(dst, ft)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, taken := dst[name]; !taken {
			dst[name] = ft
		}
	}
}

// memberPath is the path of member name below path: `path.name` for a
// plain name of a struct, `path["name"]` for a map key or any other name
// (quoted in ASCII, so that a look-alike shows, and cut short: it is the
// input's).
func memberPath(path, name string, mapKey bool) string {
	if !mapKey && plainName(name) {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	const maxShown = 64
	if len(name) > maxShown {
		return path + "[" + strconv.QuoteToASCII(name[:maxShown]) + "…]"
	}
	return path + "[" + strconv.QuoteToASCII(name) + "]"
}

func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func orRoot(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// syntaxError reports a token that is not JSON, with where it was found.
func (w *walker) syntaxError(path string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: malformed JSON at byte %d (in %s): %v", w.base, se.Offset, orRoot(path), se)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: unexpected end of the JSON (in %s)", w.base, orRoot(path))
	}
	return fmt.Errorf("%w: %v", w.base, err)
}
