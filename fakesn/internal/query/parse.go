package query

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

type opCode uint8

const (
	opEq opCode = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opLike
	opNotLike
	opStartsWith
	opEndsWith
	opIn
	opNotIn
	opEmpty
	opNotEmpty
	opAnything
	opBetween
	opSameAs
	opNotSameAs
	opGtField
	opLtField
	opGeField
	opLeField
	opInHierarchy
	opOn
	opNotOn
	opDatePart
	opRelGt
	opRelLt
	opRelGe
	opRelLe
	opMoreThan
	opLessThan
	opUnsupported
)

// opSpec is one spelling of an operator.
type opSpec struct {
	token     string
	op        opCode
	canonical string // spelling used by String
	unary     bool   // takes no value
}

// opSpecs is sorted longest token first so that the first prefix match at a
// position is the longest (!= before =, NOT LIKE before NOT..., IN_HIERARCHY
// before IN).
var opSpecs = func() []opSpec {
	specs := []opSpec{
		{token: "=", op: opEq},
		{token: "!=", op: opNe},
		{token: ">", op: opGt},
		{token: ">=", op: opGe},
		{token: "<", op: opLt},
		{token: "<=", op: opLe},
		{token: "LIKE", op: opLike},
		{token: "*", op: opLike, canonical: "LIKE"},
		{token: "NOT LIKE", op: opNotLike},
		{token: "!*", op: opNotLike, canonical: "NOT LIKE"},
		{token: "STARTSWITH", op: opStartsWith},
		{token: "ENDSWITH", op: opEndsWith},
		{token: "%", op: opEndsWith, canonical: "ENDSWITH"},
		{token: "IN", op: opIn},
		{token: "NOT IN", op: opNotIn},
		{token: "ISEMPTY", op: opEmpty, unary: true},
		{token: "EMPTY", op: opEmpty, canonical: "ISEMPTY", unary: true},
		{token: "EMPTYSTRING", op: opEmpty, unary: true},
		{token: "ISNOTEMPTY", op: opNotEmpty, unary: true},
		{token: "NOTEMPTY", op: opNotEmpty, canonical: "ISNOTEMPTY", unary: true},
		{token: "ANYTHING", op: opAnything, unary: true},
		{token: "BETWEEN", op: opBetween},
		{token: "SAMEAS", op: opSameAs},
		{token: "NSAMEAS", op: opNotSameAs},
		{token: "GT_FIELD", op: opGtField},
		{token: "LT_FIELD", op: opLtField},
		{token: "GT_OR_EQUALS_FIELD", op: opGeField},
		{token: "LT_OR_EQUALS_FIELD", op: opLeField},
		{token: "IN_HIERARCHY", op: opInHierarchy},
		{token: "ON", op: opOn},
		{token: "NOTON", op: opNotOn},
		{token: "DATEPART", op: opDatePart},
		{token: "RELATIVEGT", op: opRelGt},
		{token: "RELATIVELT", op: opRelLt},
		{token: "RELATIVEGE", op: opRelGe},
		{token: "RELATIVELE", op: opRelLe},
		{token: "MORETHAN", op: opMoreThan},
		{token: "LESSTHAN", op: opLessThan},
		// Real operators that need data the fake does not have (the current
		// user, hierarchies, class trees, change history, tags).
		{token: "DYNAMIC", op: opUnsupported},
		{token: "IN_HIERARCHY_DYNAMIC", op: opUnsupported},
		{token: "INSTANCEOF", op: opUnsupported},
		{token: "RELATIVEEE", op: opUnsupported},
		{token: "VALCHANGES", op: opUnsupported, unary: true},
		{token: "CHANGESFROM", op: opUnsupported},
		{token: "CHANGESTO", op: opUnsupported},
		{token: "DOESNOTHAVE", op: opUnsupported},
		{token: "EXCLUDING", op: opUnsupported},
	}
	for i := range specs {
		if specs[i].canonical == "" {
			specs[i].canonical = specs[i].token
		}
	}
	slices.SortStableFunc(specs, func(a, b opSpec) int { return cmp.Compare(len(b.token), len(a.token)) })
	return specs
}()

func isFieldChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.'
}

// Reserved names for text search, which the fake does not model.
var textSearchPrefixes = []string{"123TEXTQUERY321", "123TEXTINDEXGROUP321"}

// Parse compiles an encoded query against s (nil knows no fields). It never
// fails on user input: bad terms are dropped and recorded (see [Query.Invalid]
// and [Query.Unsupported]). javascript: values and relative dates are fixed
// here from opts.Now, so a long-lived Query does not follow the clock.
func Parse(encoded string, s Schema, opts Options) *Query {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	p := &parser{schema: s, now: now().UTC(), q: &Query{}}
	p.parse(encoded)
	p.q.matchesNothing = opts.InvalidReturnsNoRows && p.invalidConds > 0
	return p.q
}

type parser struct {
	schema       Schema
	now          time.Time
	q            *Query
	invalidConds int
	seen         map[string]bool

	block [][]*cond
	// inGroup is whether the last group of block takes a following ^OR; it is
	// false after a dropped condition, so its ^OR partners start a new group.
	inGroup bool
}

func (p *parser) parse(encoded string) {
	if strings.HasPrefix(encoded, jsPrefix) {
		// A whole-query script such as javascript:'active=true^'+fn().
		p.q.unsupported = append(p.q.unsupported, Problem{encoded, "javascript query not supported"})
		return
	}
	terms := strings.Split(encoded, "^")
	for i := 0; i < len(terms); i++ {
		term := terms[i]
		switch {
		case term == "":
			// a^^b, a trailing ^
		case term == "EQ":
			// end-of-query marker the UI appends
		case strings.HasPrefix(term, "RLQUERY"):
			i = p.skipRelatedListQuery(terms, i)
		case i > 0 && strings.HasPrefix(term, "NQ"):
			p.endBlock()
			if rest := term[len("NQ"):]; strings.HasPrefix(rest, "RLQUERY") {
				terms[i] = rest
				i = p.skipRelatedListQuery(terms, i)
			} else {
				p.plainTerm(rest)
			}
		case i > 0 && strings.HasPrefix(term, "OR") && !strings.HasPrefix(term, "ORDERBY"):
			p.orTerm(term[len("OR"):])
		default:
			p.plainTerm(term)
		}
	}
	p.endBlock()
}

// skipRelatedListQuery drops ^RLQUERY…^ENDRLQUERY (which may span several
// terms and nest) and returns the index of its last term.
func (p *parser) skipRelatedListQuery(terms []string, start int) int {
	depth := 0
	end := len(terms) - 1
	for j := start; j < len(terms); j++ {
		if strings.HasPrefix(terms[j], "RLQUERY") {
			depth++
		} else if strings.HasPrefix(terms[j], "ENDRLQUERY") {
			depth--
			if depth == 0 {
				end = j
				break
			}
		}
	}
	p.q.unsupported = append(p.q.unsupported, Problem{
		strings.Join(terms[start:end+1], "^"), "related list query not supported",
	})
	return end
}

func (p *parser) plainTerm(term string) {
	switch {
	case term == "", term == "EQ":
	case strings.HasPrefix(term, "ORDERBYDESC"):
		p.orderTerm(term, term[len("ORDERBYDESC"):], true)
	case strings.HasPrefix(term, "ORDERBY"):
		p.orderTerm(term, term[len("ORDERBY"):], false)
	case strings.HasPrefix(term, "GROUPBY"):
		// accepted and ignored: the Table API returns rows, not groups
	default:
		c := p.condition(term)
		p.inGroup = c != nil
		if c != nil {
			p.block = append(p.block, []*cond{c})
		}
	}
}

func (p *parser) orTerm(term string) {
	if term == "" {
		return
	}
	c := p.condition(term)
	if c == nil {
		return
	}
	if p.inGroup {
		last := len(p.block) - 1
		p.block[last] = append(p.block[last], c)
	} else {
		// First surviving member of its group (the ones before were dropped).
		p.block = append(p.block, []*cond{c})
		p.inGroup = true
	}
}

func (p *parser) endBlock() {
	if len(p.block) > 0 {
		p.q.blocks = append(p.q.blocks, p.block)
	}
	p.block, p.inGroup = nil, false
}

func (p *parser) orderTerm(term, field string, desc bool) {
	typ, ok := p.fieldType(field)
	if !ok {
		p.q.invalid = append(p.q.invalid, Problem{term, fmt.Sprintf("unknown field %q", field)})
		return
	}
	p.q.order = append(p.q.order, orderTerm{Order{field, desc}, kindOf(typ)})
}

func (p *parser) fieldType(field string) (string, bool) {
	if field == "" || p.schema == nil {
		return "", false
	}
	return p.schema.FieldType(field)
}

// condition parses and compiles one condition, recording a Problem and
// returning nil when it has to be dropped.
func (p *parser) condition(term string) *cond {
	for _, prefix := range textSearchPrefixes {
		if strings.HasPrefix(term, prefix) {
			p.q.unsupported = append(p.q.unsupported, Problem{term, "text search not supported"})
			return nil
		}
	}
	field, spec, value, found := p.split(term)
	if !found {
		p.invalidCond(term, "no operator found")
		return nil
	}
	typ, ok := p.fieldType(field)
	if !ok {
		p.invalidCond(term, fmt.Sprintf("unknown field %q", field))
		return nil
	}
	if spec.op == opUnsupported {
		p.q.unsupported = append(p.q.unsupported, Problem{term, fmt.Sprintf("operator %s not supported", spec.token)})
		return nil
	}
	c, err := p.compile(field, kindOf(typ), spec, value)
	if err != nil {
		if u, isUnsupported := err.(errUnsupported); isUnsupported {
			p.q.unsupported = append(p.q.unsupported, Problem{term, u.reason})
		} else {
			p.invalidCond(term, err.Error())
		}
		return nil
	}
	c.text = field + spec.canonical
	if !spec.unary {
		c.text += value
	}
	p.addField(c.field)
	if c.other != "" {
		p.addField(c.other)
	}
	return c
}

func (p *parser) invalidCond(term, reason string) {
	p.invalidConds++
	p.q.invalid = append(p.q.invalid, Problem{term, reason})
}

func (p *parser) addField(f string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[f] {
		p.seen[f] = true
		p.q.fields = append(p.q.fields, f)
	}
}

// split finds field, operator and value. Field names and word operators share
// letters (short_descriptionLIKEx, stateIN1,2), so every position where an
// operator starts is a candidate; the first one whose field the schema knows
// wins, and otherwise the first one, so that the unknown field is reported.
func (p *parser) split(term string) (field string, spec opSpec, value string, found bool) {
	var fallback struct {
		at   int
		spec opSpec
		ok   bool
	}
	for i := 1; i < len(term) && isFieldChar(term[i-1]); i++ {
		s, ok := opAt(term[i:])
		if !ok {
			continue
		}
		if _, known := p.fieldType(term[:i]); known {
			return term[:i], s, term[i+len(s.token):], true
		}
		if !fallback.ok {
			fallback.at, fallback.spec, fallback.ok = i, s, true
		}
	}
	if !fallback.ok {
		return "", opSpec{}, "", false
	}
	i, s := fallback.at, fallback.spec
	return term[:i], s, term[i+len(s.token):], true
}

// opAt returns the longest operator that s starts with.
func opAt(s string) (opSpec, bool) {
	for _, spec := range opSpecs {
		if strings.HasPrefix(s, spec.token) {
			return spec, true
		}
	}
	return opSpec{}, false
}
