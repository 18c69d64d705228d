package query

import (
	"strconv"
	"strings"
)

// Text matching is case-insensitive, like the MySQL *_ci collations behind a
// real instance. Query values are lower-cased once at parse time; stored values
// are folded on the fly. ASCII takes an allocation-free path; anything else
// falls back to strings.ToLower so that both sides fold the same way.

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// eqFold reports whether s equals lower (already lower-cased), ignoring case.
func eqFold(s, lower string) bool {
	if len(s) != len(lower) {
		// Lower-casing ASCII keeps the length, so only non-ASCII can still match.
		if isASCII(s) {
			return false
		}
		return strings.ToLower(s) == lower
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s) == lower
		}
		if lowerASCII(c) != lower[i] {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, lower string) bool {
	if !isASCII(s) {
		return strings.HasPrefix(strings.ToLower(s), lower)
	}
	return hasPrefixASCII(s, lower)
}

// hasPrefixASCII assumes s is ASCII.
func hasPrefixASCII(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func hasSuffixFold(s, lower string) bool {
	if !isASCII(s) {
		return strings.HasSuffix(strings.ToLower(s), lower)
	}
	if len(s) < len(lower) {
		return false
	}
	return hasPrefixASCII(s[len(s)-len(lower):], lower)
}

func containsFold(s, lower string) bool {
	if !isASCII(s) {
		return strings.Contains(strings.ToLower(s), lower)
	}
	if len(lower) == 0 {
		return true
	}
	first := lower[0]
	for i := 0; i+len(lower) <= len(s); i++ {
		if lowerASCII(s[i]) == first && hasPrefixASCII(s[i:], lower) {
			return true
		}
	}
	return false
}

// compareFold orders a and b ignoring case.
func compareFold(a, b string) int {
	if !isASCII(a) || !isASCII(b) {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// foldSet is a case-insensitive string set (an IN list).
type foldSet map[string]struct{}

func (m foldSet) has(s string) bool {
	// Fast paths avoid allocating: already lower-case, or short enough to
	// fold into a stack buffer (the compiler does not allocate for
	// m[string(bytes)] lookups).
	if isASCII(s) {
		upper := false
		for i := 0; i < len(s); i++ {
			if 'A' <= s[i] && s[i] <= 'Z' {
				upper = true
				break
			}
		}
		if !upper {
			_, ok := m[s]
			return ok
		}
		if len(s) <= 64 {
			var buf [64]byte
			for i := 0; i < len(s); i++ {
				buf[i] = lowerASCII(s[i])
			}
			_, ok := m[string(buf[:len(s)])]
			return ok
		}
	}
	_, ok := m[strings.ToLower(s)]
	return ok
}

// parseNum parses a plain decimal number. It checks the syntax first so that
// the common non-numeric case does not allocate a *strconv.NumError, and it
// rejects forms SQL would not treat as numbers (NaN, Inf, hex, underscores).
func parseNum(s string) (float64, bool) {
	if !looksNumeric(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return false
		}
	}
	return i == len(s)
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// normBool maps the stored spellings of a boolean to "true"/"false". An empty
// boolean reads as false, as it does on a real instance (active!=true also
// returns rows whose active is empty). Other values are returned unchanged.
func normBool(s string) string {
	switch {
	case s == "", s == "0", eqFold(s, "false"):
		return "false"
	case s == "1", eqFold(s, "true"):
		return "true"
	}
	return s
}
