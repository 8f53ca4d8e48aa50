package httpsig

import (
	"encoding/base64"
	"fmt"
)

// A parser of the Structured Field Values of RFC 8941 (§4.2), bounded by
// the limits of this package and allocation-free: what it finds is
// recorded as spans of the input, which it never modifies.

// span is [start, end) in the parsed input.
type span struct{ start, end int32 }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }
func (s span) len() int           { return int(s.end - s.start) }

// kind is the type of a bare item.
type kind uint8

const (
	kInteger kind = iota + 1
	kDecimal
	kString // raw: the content between the quotes, escapes as sent
	kToken
	kBinary // raw: the base64 text between the colons
	kBoolean
)

// item is a bare item: raw is its text (see kind), n its value for an
// integer or a boolean (0 or 1); esc says a string holds escapes.
type item struct {
	kind kind
	raw  span
	n    int64
	esc  bool
}

// param is one parameter: a key and a bare item (true when it had none).
type param struct {
	key span
	val item
}

// params are the parameters of an item or an inner list.
type params struct {
	n int
	p [MaxParams]param
}

// member is one dictionary member: its key, its whole text (key to the
// end of its parameters), and its value's text (after '=', or empty for a
// boolean true with parameters), which list says is an inner list.
type member struct {
	key, full, val span
	list           bool
}

// dictionary is a parsed sf-dictionary.
type dictionary struct {
	n int
	m [MaxMembers]member
}

// lookup returns the member whose key is k.
func (d *dictionary) lookup(src []byte, k string) (*member, bool) {
	for i := 0; i < d.n; i++ {
		if string(d.m[i].key.of(src)) == k {
			return &d.m[i], true
		}
	}
	return nil, false
}

// innerList is a parsed inner list: its items and their parameters, and
// the list's parameters.
type innerList struct {
	n      int
	items  [MaxComponents]item
	iparam [MaxComponents]params
	params params
}

// parser reads one field value.
type parser struct {
	b []byte
	i int
}

func malformed(what string, args ...any) error {
	return fmt.Errorf("%w: "+what, append([]any{ErrMalformed}, args...)...)
}

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) sp() {
	for p.i < len(p.b) && p.b[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) ows() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t') {
		p.i++
	}
}

// parseDictionary parses b as an sf-dictionary into d (RFC 8941 §4.2.2),
// refusing duplicate keys and values that are not well-formed. An empty
// (or all-SP) b is an empty dictionary.
func parseDictionary(b []byte, d *dictionary) error {
	d.n = 0
	if len(b) > MaxFieldSize {
		return malformed("field of %d bytes, over %d", len(b), MaxFieldSize)
	}
	p := parser{b: b}
	p.sp()
	var il innerList // scratch for values nobody asked for
	var it item
	var ps params
	for p.i < len(b) {
		if d.n == MaxMembers {
			return malformed("over %d dictionary members", MaxMembers)
		}
		m := &d.m[d.n]
		start := p.i
		var err error
		if m.key, err = p.key(); err != nil {
			return err
		}
		for j := 0; j < d.n; j++ {
			if string(d.m[j].key.of(b)) == string(m.key.of(b)) {
				return malformed("dictionary key given twice")
			}
		}
		m.list = false
		if p.peek() == '=' {
			p.i++
			m.val.start = int32(p.i)
			if p.peek() == '(' {
				m.list = true
				err = p.innerList(&il)
			} else {
				err = p.item(&it, &ps)
			}
		} else {
			m.val.start = int32(p.i)
			err = p.parameters(&ps)
		}
		if err != nil {
			return err
		}
		m.val.end = int32(p.i)
		m.full = span{int32(start), int32(p.i)}
		d.n++
		p.ows()
		if p.i == len(b) {
			return nil
		}
		if p.peek() != ',' {
			return malformed("dictionary members not separated by a comma")
		}
		p.i++
		p.ows()
		if p.i == len(b) {
			return malformed("trailing comma")
		}
	}
	return nil
}

// parseInnerListValue parses b, a member's value, as one inner list.
func parseInnerListValue(b []byte, il *innerList) error {
	p := parser{b: b}
	if p.peek() != '(' {
		return malformed("not an inner list")
	}
	if err := p.innerList(il); err != nil {
		return err
	}
	if p.i != len(b) {
		return malformed("data after the inner list")
	}
	return nil
}

// parseItemValue parses b, a member's value, as one item.
func parseItemValue(b []byte, it *item, ps *params) error {
	p := parser{b: b}
	if err := p.item(it, ps); err != nil {
		return err
	}
	if p.i != len(b) {
		return malformed("data after the item")
	}
	return nil
}

// innerList parses "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters.
func (p *parser) innerList(il *innerList) error {
	p.i++ // '('
	il.n = 0
	for {
		p.sp()
		if p.peek() == ')' {
			p.i++
			return p.parameters(&il.params)
		}
		if il.n == MaxComponents {
			return malformed("over %d inner list items", MaxComponents)
		}
		if err := p.item(&il.items[il.n], &il.iparam[il.n]); err != nil {
			return err
		}
		il.n++
		if c := p.peek(); c != ' ' && c != ')' {
			return malformed("inner list items not separated by a space")
		}
	}
}

// item parses bare-item parameters.
func (p *parser) item(it *item, ps *params) error {
	if err := p.bareItem(it); err != nil {
		return err
	}
	return p.parameters(ps)
}

// parameters parses *( ";" *SP key [ "=" bare-item ] ), refusing a
// duplicate key.
func (p *parser) parameters(ps *params) error {
	ps.n = 0
	for p.peek() == ';' {
		p.i++
		p.sp()
		if ps.n == MaxParams {
			return malformed("over %d parameters", MaxParams)
		}
		pr := &ps.p[ps.n]
		var err error
		if pr.key, err = p.key(); err != nil {
			return err
		}
		for j := 0; j < ps.n; j++ {
			if string(ps.p[j].key.of(p.b)) == string(pr.key.of(p.b)) {
				return malformed("parameter given twice")
			}
		}
		pr.val = item{kind: kBoolean, n: 1}
		if p.peek() == '=' {
			p.i++
			if err := p.bareItem(&pr.val); err != nil {
				return err
			}
		}
		ps.n++
	}
	return nil
}

// key parses ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *parser) key() (span, error) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return span{}, malformed("a key must begin with a lower-case letter or '*'")
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	if p.i-start > MaxKeyLen {
		return span{}, malformed("key over %d bytes", MaxKeyLen)
	}
	return span{int32(start), int32(p.i)}, nil
}

// bareItem parses an integer, decimal, string, token, byte sequence or
// boolean.
func (p *parser) bareItem(it *item) error {
	*it = item{}
	switch c := p.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		return p.number(it)
	case c == '"':
		return p.str(it)
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '*':
		return p.token(it)
	case c == ':':
		return p.binary(it)
	case c == '?':
		return p.boolean(it)
	}
	return malformed("not a bare item")
}

// number parses an sf-integer (at most 15 digits) or an sf-decimal (at
// most 12 digits, '.', 1 to 3 digits).
func (p *parser) number(it *item) error {
	start := p.i
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	digits, dot := 0, -1
	var n int64
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '.' && dot < 0 {
			if digits > 12 {
				return malformed("decimal with over 12 integer digits")
			}
			dot = digits
			p.i++
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		digits++
		if dot < 0 {
			n = n*10 + int64(c-'0')
		}
		if dot < 0 && digits > 15 || dot >= 0 && digits-dot > 3 {
			return malformed("number with too many digits")
		}
		p.i++
	}
	switch {
	case digits == 0 || dot == 0:
		return malformed("number without digits")
	case dot >= 0 && digits == dot:
		return malformed("decimal without fraction digits")
	}
	if neg {
		n = -n
	}
	it.raw = span{int32(start), int32(p.i)}
	if dot >= 0 {
		it.kind = kDecimal
		return nil
	}
	it.kind, it.n = kInteger, n
	return nil
}

// str parses DQUOTE *( %x20-21 / %x23-5B / %x5D-7E / "\" ( DQUOTE / "\" ) ) DQUOTE.
func (p *parser) str(it *item) error {
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			it.kind, it.raw = kString, span{int32(start), int32(p.i)}
			p.i++
			return nil
		case c == '\\':
			if p.i+1 >= len(p.b) || p.b[p.i+1] != '"' && p.b[p.i+1] != '\\' {
				return malformed("bad escape in a string")
			}
			it.esc = true
			p.i += 2
		case c < 0x20 || c > 0x7e:
			return malformed("string holds a byte outside printable ASCII")
		default:
			p.i++
		}
	}
	return malformed("unterminated string")
}

// token parses ( ALPHA / "*" ) *( tchar / ":" / "/" ).
func (p *parser) token(it *item) error {
	start := p.i
	p.i++
	for p.i < len(p.b) && (isTchar(p.b[p.i]) || p.b[p.i] == ':' || p.b[p.i] == '/') {
		p.i++
	}
	it.kind, it.raw = kToken, span{int32(start), int32(p.i)}
	return nil
}

func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// binary parses ":" *( ALPHA / DIGIT / "+" / "/" / "=" ) ":". The base64 is
// checked when the value is decoded (decodeBinary).
func (p *parser) binary(it *item) error {
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == ':':
			it.kind, it.raw = kBinary, span{int32(start), int32(p.i)}
			p.i++
			return nil
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			p.i++
		default:
			return malformed("byte sequence holds a byte outside base64")
		}
	}
	return malformed("unterminated byte sequence")
}

// boolean parses "?" ( "0" / "1" ).
func (p *parser) boolean(it *item) error {
	if p.i+1 >= len(p.b) || p.b[p.i+1] != '0' && p.b[p.i+1] != '1' {
		return malformed("bad boolean")
	}
	it.kind, it.n = kBoolean, int64(p.b[p.i+1]-'0')
	p.i += 2
	return nil
}

// decodeBinary decodes the byte sequence enc (the text between the colons)
// into dst, which it must fill exactly. Padding may be absent, as RFC 8941
// §4.2.7 asks parsers to allow; anything else that is not base64 fails.
func decodeBinary(dst, enc []byte) bool {
	for len(enc) > 0 && enc[len(enc)-1] == '=' {
		enc = enc[:len(enc)-1]
	}
	if base64.RawStdEncoding.DecodedLen(len(enc)) != len(dst) {
		return false
	}
	n, err := base64.RawStdEncoding.Decode(dst, enc)
	return err == nil && n == len(dst)
}
