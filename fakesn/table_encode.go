package fakesn

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// refTable is the table a field refers to: its Reference for reference
// fields, sys_user_group for sys_domain (whose value "global" links to
// sys_user_group/global on an instance), "" otherwise.
func refTable(f *store.Field) string {
	switch f.Type {
	case fixtures.TypeReference:
		return f.Reference
	case fixtures.TypeDomainID:
		return "sys_user_group"
	}
	return ""
}

// resolveField finds the field a possibly dot-walked path ("caller_id.email")
// names, starting at table t. Every hop but the last must be a reference.
func resolveField(tx *store.Tx, t *store.Table, path string) (*store.Field, bool) {
	for {
		name, rest, dotted := strings.Cut(path, ".")
		f, ok := t.Field(name)
		if !ok {
			return nil, false
		}
		if !dotted {
			return f, true
		}
		if t, ok = tx.Table(refTable(f)); !ok {
			return nil, false
		}
		path = rest
	}
}

// tableSchema is a table seen by the query package.
type tableSchema struct {
	tx *store.Tx
	t  *store.Table
}

func (s tableSchema) FieldType(path string) (string, bool) {
	f, ok := resolveField(s.tx, s.t, path)
	if !ok {
		return "", false
	}
	return f.Type, true
}

// rowRecord is a stored row seen by the query package: dot-walks follow
// references, and secrets read as empty so no query can probe a hash.
type rowRecord struct {
	tx  *store.Tx
	row *store.Row
}

func (r rowRecord) Get(path string) string {
	if f, ok := r.row.Table.Field(path); ok {
		if store.IsSecretType(f.Type) {
			return ""
		}
		return r.row.At(f.Index)
	}
	return fieldValue(r.tx, r.row, path)
}

// fieldValue reads a possibly dot-walked path of row; "" when a hop is
// empty or dangling.
func fieldValue(tx *store.Tx, row *store.Row, path string) string {
	for {
		name, rest, dotted := strings.Cut(path, ".")
		f, ok := row.Table.Field(name)
		if !ok {
			return ""
		}
		v := row.At(f.Index)
		if !dotted {
			if store.IsSecretType(f.Type) {
				return ""
			}
			return v
		}
		ref := refTable(f)
		if ref == "" || v == "" {
			return ""
		}
		next, err := tx.Get(ref, v)
		if err != nil {
			return ""
		}
		row, path = next, rest
	}
}

// mapRecord is a record about to be inserted, for create ACLs.
type mapRecord map[string]string

func (m mapRecord) Get(path string) string { return m[path] }

// column is one key of an encoded record, with what its encoding needs
// worked out once per request.
type column struct {
	key    string       // JSON key: a field name or a dot-walked path
	field  *store.Field // the (last) field, whose type decides the encoding
	index  int          // field index in the requested table; -1 for dot-walks
	prefix []byte       // the escaped key and its colon
	ref    string       // referenced table, "" when not a reference
	link   []byte       // for a reference: its link's opening quote and escaped text up to the sys_id
	hidden bool         // a password or journal field: always ""
}

// recordEncoder writes records as the Table API does (servicenow-spec §5.4):
// every value a string; references as {"link","value"} objects, or plain
// strings with sysparm_exclude_reference_link; display values with
// sysparm_display_value=true; {"display_value","value"[,"link"]} objects
// for every field with sysparm_display_value=all.
//
// Display values: choice labels; the referenced record's display field
// (followed through references, at most a few hops); the table label for
// sys_class_name; integers grouped by thousands ("1,234"); booleans "true" or
// "false"; dates unchanged, since the fake's users are all on UTC. Password
// fields read as "" in every mode, never their stored hash, and journal
// fields as "" (they are write-only on an instance).
type recordEncoder struct {
	tx         *store.Tx
	table      *store.Table // the table the request named
	base       string       // scheme://host, for reference links
	mode       displayMode
	excludeRef bool
	cols       []column
	arena      []byte // backs every column's prefix and link: one allocation, not one each
}

// addColumn adds key, naming field f (index -1 for a dot-walk).
func (e *recordEncoder) addColumn(key string, f *store.Field, index int) {
	if e.cols == nil && e.table != nil {
		e.cols = make([]column, 0, len(e.table.Fields))
	}
	if e.arena == nil {
		e.arena = make([]byte, 0, 4096)
	}
	c := column{
		key: key, field: f, index: index,
		ref: refTable(f), hidden: store.IsSecretType(f.Type) || f.Type == fixtures.TypeJournal,
	}
	// Slices of the arena are capped, so appending to one can never write
	// over the next; a grown arena leaves earlier ones on the old array.
	start := len(e.arena)
	e.arena = append(appendJSONString(e.arena, key), ':')
	c.prefix = e.arena[start:len(e.arena):len(e.arena)]
	if c.ref != "" {
		// Escaped once per request, not once per value.
		start = len(e.arena)
		e.arena = append(appendEscaped(append(e.arena, '"'), e.base), "/api/now/table/"...)
		e.arena = append(appendEscaped(e.arena, c.ref), '/')
		c.link = e.arena[start:len(e.arena):len(e.arena)]
	}
	e.cols = append(e.cols, c)
}

// appendResult writes {"result":<record>}.
func (e *recordEncoder) appendResult(b []byte, row *store.Row) []byte {
	b = append(b, `{"result":`...)
	b = e.appendRecord(b, row)
	return append(b, '}')
}

// appendRecord writes one record as a JSON object.
func (e *recordEncoder) appendRecord(b []byte, row *store.Row) []byte {
	b = append(b, '{')
	for i := range e.cols {
		c := &e.cols[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, c.prefix...)
		var v string
		switch {
		case c.hidden:
		case c.index >= 0 && row.Table == e.table:
			v = row.At(c.index)
		case c.index >= 0:
			v = row.Get(c.key)
		default:
			v = fieldValue(e.tx, row, c.key)
		}
		b = e.appendValue(b, c, v)
	}
	return append(b, '}')
}

// appendValue writes one field's value in the encoder's mode.
func (e *recordEncoder) appendValue(b []byte, c *column, v string) []byte {
	link := c.ref != "" && v != "" && !e.excludeRef
	switch e.mode {
	case displayTrue:
		d := displayValue(e.tx, c.field, v, 0)
		if !link {
			return appendJSONString(b, d)
		}
		b = append(b, `{"display_value":`...)
		b = appendJSONString(b, d)
		b = append(b, `,"link":`...)
		b = e.appendLink(b, c, v)
		return append(b, '}')
	case displayAll:
		b = append(b, `{"display_value":`...)
		b = appendJSONString(b, displayValue(e.tx, c.field, v, 0))
		if link {
			b = append(b, `,"link":`...)
			b = e.appendLink(b, c, v)
		}
		b = append(b, `,"value":`...)
		b = appendJSONString(b, v)
		return append(b, '}')
	}
	if !link {
		return appendJSONString(b, v)
	}
	b = append(b, `{"link":`...)
	b = e.appendLink(b, c, v)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, v)
	return append(b, '}')
}

// appendLink writes a reference's absolute, unversioned link.
func (e *recordEncoder) appendLink(b []byte, c *column, id string) []byte {
	b = append(b, c.link...)
	if plainSegment(id) {
		b = append(b, id...) // a sys_id: nothing to escape, for the URL or for JSON
	} else {
		b = appendEscaped(b, url.PathEscape(id))
	}
	return append(b, '"')
}

// plainSegment reports whether s is only characters that neither a URL
// path segment nor a JSON string escapes: letters, digits, '-', '.', '_'
// and '~'.
func plainSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		if !unreserved[s[i]] {
			return false
		}
	}
	return true
}

// unreserved marks the bytes plainSegment accepts (RFC 3986 unreserved).
var unreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

// maxDisplayHops bounds display values that are themselves references
// (sys_user_has_role shows its role, which shows its name).
const maxDisplayHops = 4

// displayValue is what the instance shows for a stored value.
func displayValue(tx *store.Tx, f *store.Field, v string, hops int) string {
	if v == "" || store.IsSecretType(f.Type) || f.Type == fixtures.TypeJournal {
		return ""
	}
	if ref := refTable(f); ref != "" {
		if d, ok := refDisplay(tx, ref, v, hops); ok {
			return d
		}
		if f.Type == fixtures.TypeDomainID {
			return v // "global" has no record and shows as itself
		}
		return ""
	}
	switch {
	case f.HasChoices():
		return f.ChoiceLabel(v)
	case f.Type == fixtures.TypeSysClassName:
		if t, ok := tx.Table(v); ok && t.Label != "" {
			return t.Label
		}
	case f.Type == fixtures.TypeInteger:
		return groupThousands(v)
	}
	return v
}

// refDisplay is the display value of the record table/id: its display
// field, shown the way that field shows.
func refDisplay(tx *store.Tx, table, id string, hops int) (string, bool) {
	if hops >= maxDisplayHops {
		return "", false
	}
	row, err := tx.Get(table, id)
	if err != nil {
		return "", false
	}
	df, ok := row.Table.Field(row.Table.Display)
	if !ok {
		return "", true
	}
	return displayValue(tx, df, row.At(df.Index), hops+1), true
}

// groupThousands formats an integer as the instance's display value does
// ("1,234"); anything that is not a plain integer is returned unchanged.
func groupThousands(v string) string {
	digits := strings.TrimPrefix(v, "-")
	if len(digits) <= 3 {
		return v
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return v
		}
	}
	var b strings.Builder
	if len(digits) != len(v) {
		b.WriteByte('-')
	}
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

const hexDigits = "0123456789abcdef"

// plainWord reports whether none of the eight bytes of w is a control
// character, '"', '\\' or outside ASCII, with the usual SWAR tests (a byte
// that needs escaping is never missed; a false alarm only takes the slow
// path).
func plainWord(w uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - lsb) & ^x & msb }
	return (w-lsb*0x20)&^w&msb|hasZero(w^(lsb*'"'))|hasZero(w^(lsb*'\\'))|w&msb == 0
}

// appendJSONString writes s as a JSON string the way encoding/json does
// without HTML escaping: invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped writes the inside of a JSON string.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: the common case,
		// and most of a Table API answer's encoding time.
		if len(s)-i >= 8 {
			w := s[i : i+8] // one bounds check, and a single 8-byte load
			if plainWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
