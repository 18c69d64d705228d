package query

import (
	"slices"
	"strings"
	"time"
)

// Schema tells the parser which fields exist. Paths may be dot-walked
// ("caller_id.email"); the caller resolves them.
type Schema interface {
	// FieldType returns the field's ServiceNow type: "string", "integer",
	// "decimal", "boolean", "choice", "reference", "glide_date_time",
	// "glide_date", "journal", "sys_id" (GUID), "sys_class_name", etc.
	// Unknown types behave like "string".
	FieldType(path string) (typ string, ok bool)
}

// Record supplies stored (raw, non-display) values.
type Record interface {
	// Get returns "" for an empty value.
	Get(path string) string
}

// Options configures [Parse]. The zero value behaves like a default instance.
type Options struct {
	// InvalidReturnsNoRows mirrors glide.invalid_query.returns_no_rows: when true a query with an invalid
	// condition matches no rows; when false (the instance default) invalid conditions are silently dropped.
	InvalidReturnsNoRows bool
	// Now is the clock for relative date operators and gs.* date functions; nil means time.Now. Times are UTC.
	Now func() time.Time
}

// Order is one ORDERBY (Desc false) or ORDERBYDESC (Desc true) term.
type Order struct {
	Field string
	Desc  bool
}

// Problem describes a dropped term.
type Problem struct {
	Term   string // the term as written, without its ^, ^OR or ^NQ prefix
	Reason string
}

// Query is a parsed encoded query. It is immutable and safe for concurrent use.
type Query struct {
	// blocks are ORed (^NQ); each block is an AND of groups; each group is an
	// OR of conditions (^OR). Dropped conditions and empty groups and blocks
	// are not kept.
	blocks         [][][]*cond
	order          []orderTerm
	fields         []string
	invalid        []Problem
	unsupported    []Problem
	matchesNothing bool
}

// Match reports whether r satisfies the query.
func (q *Query) Match(r Record) bool {
	if q.matchesNothing {
		return false
	}
	if len(q.blocks) == 0 {
		return true
	}
	for _, block := range q.blocks {
		if matchBlock(block, r) {
			return true
		}
	}
	return false
}

func matchBlock(groups [][]*cond, r Record) bool {
	for _, group := range groups {
		if !matchGroup(group, r) {
			return false
		}
	}
	return true
}

func matchGroup(group []*cond, r Record) bool {
	for _, c := range group {
		if c.match(r) {
			return true
		}
	}
	return false
}

// OrderBy returns the valid ORDERBY/ORDERBYDESC terms in order.
func (q *Query) OrderBy() []Order {
	out := make([]Order, len(q.order))
	for i, o := range q.order {
		out[i] = o.Order
	}
	return out
}

// Fields returns every field path referenced by valid conditions (for query
// ACL checks), deduplicated, in order of appearance. Sort fields are not
// included; see [Query.OrderBy].
func (q *Query) Fields() []string { return slices.Clone(q.fields) }

// Invalid returns the conditions dropped because the field is unknown or the
// term cannot be parsed, and ORDERBY terms on unknown fields.
func (q *Query) Invalid() []Problem { return slices.Clone(q.invalid) }

// Unsupported returns valid-looking forms the fake does not model
// (javascript: outside the whitelist, ^RLQUERY…^ENDRLQUERY, DYNAMIC, text
// search, ...). They are dropped like invalid conditions, but never make
// [Query.MatchesNothing] true: a real instance would have run them.
func (q *Query) Unsupported() []Problem { return slices.Clone(q.unsupported) }

// MatchesNothing is true when Options.InvalidReturnsNoRows was set and a
// condition was invalid. An invalid ORDERBY alone does not count.
func (q *Query) MatchesNothing() bool { return q.matchesNothing }

// String returns the effective query in normalized encoded form: dropped
// terms removed, ^OR groups and ^NQ blocks kept, operator aliases spelled out
// (* as LIKE, !* as NOT LIKE, % as ENDSWITH, EMPTY as ISEMPTY), sort terms
// last. Parsing it again with the same schema gives the same matches.
func (q *Query) String() string {
	var b strings.Builder
	sep := func(s string) {
		if b.Len() > 0 {
			b.WriteString(s)
		}
	}
	for i, block := range q.blocks {
		if i > 0 {
			b.WriteString("^NQ")
		}
		for j, group := range block {
			if j > 0 {
				b.WriteString("^")
			}
			for k, c := range group {
				if k > 0 {
					b.WriteString("^OR")
				}
				b.WriteString(c.text)
			}
		}
	}
	for _, o := range q.order {
		sep("^")
		if o.Desc {
			b.WriteString("ORDERBYDESC")
		} else {
			b.WriteString("ORDERBY")
		}
		b.WriteString(o.Field)
	}
	return b.String()
}
