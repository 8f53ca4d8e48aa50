package jsonscan

// plainBytes[c] says whether c may stand as itself in a plain string:
// printable ASCII but the quote and the backslash. A table of constants,
// written once.
var plainBytes = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipValue reads the value at i (after whitespace) and all it holds
// without recursion: bit k of objects says whether the k-th open container
// is an object. A container opened at depth depth or deeper must be under
// limit (at most 64).
//
// The JSON that costs the most per byte is the densest in values: short
// numbers ([0,0,…]), short names ("a":0,…), empty strings and containers.
// So a value, a separator and a member's name are read here, in one loop,
// without a call: an integer, or a string of at most eight plain bytes,
// inline; anything longer or rarer (a fraction, an exponent, an escape,
// UTF-8, a long string) by number and str.
func skipValue(b []byte, i, depth, limit int, strict bool) (int, bool) {
	// A one-digit number, the commonest value of an unknown member, before
	// the loop's set-up.
	if i+1 < len(b) && b[i]-'0' < 10 && !numberByte(b[i+1]) {
		return i + 1, true
	}
	var objects uint64
	open := 0
	inObj, wantName := false, false
	for {
		// A value is next, or a member's name (wantName).
		if i < len(b) && b[i] <= ' ' {
			i = ws(b, i)
		}
		if i >= len(b) {
			return 0, false
		}
		c := b[i]
		switch {
		case c == '"':
			// At most eight plain bytes here, anything else by str.
			j := i + 1
			for n := min(len(b), j+8); j < n && plainBytes[b[j]]; j++ {
			}
			if j < len(b) && b[j] == '"' {
				i = j + 1
			} else {
				var ok bool
				if i, _, ok = str(b, i+1, strict); !ok {
					return 0, false
				}
			}
			if !wantName {
				break
			}
			if i < len(b) && b[i] != ':' {
				i = ws(b, i)
			}
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i++
			wantName = false
			continue
		case wantName:
			return 0, false
		case c-'0' < 10 || c == '-':
			// An integer here, anything else by number.
			j := i
			if c == '-' {
				if j++; j >= len(b) {
					return 0, false
				}
			}
			switch d := b[j]; {
			case d == '0':
				j++
			case d-'1' < 9:
				for j++; j < len(b) && b[j]-'0' < 10; j++ {
				}
			default:
				return 0, false
			}
			if j < len(b) && (b[j] == '.' || b[j]|0x20 == 'e') {
				var ok bool
				if j, ok = number(b, i); !ok {
					return 0, false
				}
			}
			i = j
			// In an array (not at the top: 1,2 is not JSON), a run of
			// integers in one loop: [0,0,…].
			for open > 0 && !inObj && i+1 < len(b) && b[i] == ',' && b[i+1]-'0' < 10 {
				j := i + 2
				if b[i+1] != '0' {
					for j < len(b) && b[j]-'0' < 10 {
						j++
					}
				}
				if j < len(b) && (b[j] == '.' || b[j]|0x20 == 'e') {
					break
				}
				i = j
			}
		case c == '[' || c == '{':
			if depth+open >= limit {
				return 0, false
			}
			if i+1 < len(b) && b[i+1] == c+2 {
				i += 2 // [] or {}, read as one value
				break
			}
			inObj = c == '{'
			if inObj {
				objects |= uint64(1) << open
				open++
				i++
			} else {
				// A run of '[' in one loop.
				for {
					objects &^= uint64(1) << open
					open++
					if i++; i >= len(b) || b[i] != '[' {
						break
					}
					if depth+open >= limit {
						return 0, false
					}
				}
			}
			if i < len(b) && b[i] <= ' ' {
				i = ws(b, i)
			}
			if i < len(b) && b[i] == c+2 { // ']' or '}'
				i++
				open--
				inObj = open > 0 && objects>>(open-1)&1 == 1
				break
			}
			wantName = inObj
			continue
		case c == 't' && hasWord(b, i, "true"), c == 'n' && hasWord(b, i, "null"):
			i += 4
		case c == 'f' && hasWord(b, i, "false"):
			i += 5
		default:
			return 0, false
		}
		// A value was read: close containers until one goes on.
		for ; open > 0; open-- {
			if i < len(b) && b[i] <= ' ' {
				i = ws(b, i)
			}
			if i >= len(b) {
				return 0, false
			}
			c := b[i]
			i++
			if c == ',' {
				wantName = inObj
				break
			}
			if inObj && c != '}' || !inObj && c != ']' {
				return 0, false
			}
			inObj = open > 1 && objects>>(open-2)&1 == 1
		}
		if open == 0 {
			return i, true
		}
	}
}

// numberByte reports whether c may go on a number after its first digit.
func numberByte(c byte) bool {
	return c-'0' < 10 || c == '.' || c|0x20 == 'e'
}
