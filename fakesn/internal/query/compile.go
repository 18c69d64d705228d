package query

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// kind is how a field type compares.
type kind uint8

const (
	kindString  kind = iota
	kindNumber       // integer, decimal, ...: numeric comparisons
	kindChoice       // string, but numeric when both sides are numbers (priority, state)
	kindBoolean      // "true"/"false"; empty reads as false
	kindDate         // date and date-time: raw strings compare chronologically
)

func kindOf(typ string) kind {
	switch typ {
	case "integer", "decimal", "float", "longint", "numeric":
		return kindNumber
	case "choice":
		return kindChoice
	case "boolean":
		return kindBoolean
	case "glide_date_time", "glide_date", "due_date", "date", "datetime", "calendar_date_time":
		return kindDate
	}
	return kindString
}

// cond is a compiled condition. Exactly one of test and test2 is set.
type cond struct {
	field string
	other string // the second field of SAMEAS, GT_FIELD, MORETHAN, ...
	text  string // normalized encoded form
	test  func(v string) bool
	test2 func(a, b string) bool
}

func (c *cond) match(r Record) bool {
	if c.test2 != nil {
		return c.test2(r.Get(c.field), r.Get(c.other))
	}
	return c.test(r.Get(c.field))
}

// resolve evaluates a javascript: value; plain values pass through.
func (p *parser) resolve(value string) (string, error) {
	if strings.HasPrefix(value, jsPrefix) {
		return evalJS(value, p.now)
	}
	return value, nil
}

func noJS(value string) error {
	if strings.HasPrefix(value, jsPrefix) {
		return errUnsupported{"javascript expression not supported"}
	}
	return nil
}

func (p *parser) compile(field string, k kind, spec opSpec, value string) (*cond, error) {
	c := &cond{field: field}
	switch spec.op {
	case opAnything:
		c.test = func(string) bool { return true }
	case opEmpty:
		c.test = func(v string) bool { return v == "" }
	case opNotEmpty:
		c.test = func(v string) bool { return v != "" }
	case opEq, opNe:
		v, err := p.resolve(value)
		if err != nil {
			return nil, err
		}
		eq := equality(k, v)
		switch {
		case eq == nil && spec.op == opEq:
			c.test = func(v string) bool { return v == "" }
		case eq == nil:
			c.test = func(v string) bool { return v != "" }
		case spec.op == opEq:
			c.test = eq
		case k == kindBoolean:
			// The docs: active!=true returns false, empty and NULL rows.
			c.test = func(v string) bool { return !eq(v) }
		default:
			// SQL: NULL != 'x' is not true, so empty values never match.
			c.test = func(v string) bool { return v != "" && !eq(v) }
		}
	case opGt, opGe, opLt, opLe:
		v, err := p.resolve(value)
		if err != nil {
			return nil, err
		}
		c.test = ordered(spec.op, comparer(k, v))
	case opBetween:
		lo, hi, ok := strings.Cut(value, "@")
		if !ok || strings.Contains(hi, "@") {
			return nil, errors.New("BETWEEN needs low@high")
		}
		return p.between(c, k, lo, hi, false)
	case opLike, opNotLike, opStartsWith, opEndsWith:
		v, err := p.resolve(value)
		if err != nil {
			return nil, err
		}
		lv := strings.ToLower(v)
		var has func(string, string) bool
		switch spec.op {
		case opStartsWith:
			has = hasPrefixFold
		case opEndsWith:
			has = hasSuffixFold
		default:
			has = containsFold
		}
		if spec.op == opNotLike {
			c.test = func(v string) bool { return v != "" && !has(v, lv) }
		} else {
			c.test = func(v string) bool { return v != "" && has(v, lv) }
		}
	case opIn, opNotIn:
		if err := noJS(value); err != nil {
			return nil, err
		}
		in := membership(k, strings.Split(value, ","))
		if spec.op == opIn {
			c.test = in
		} else if k == kindBoolean {
			c.test = func(v string) bool { return !in(v) }
		} else {
			c.test = func(v string) bool { return v != "" && !in(v) }
		}
	case opInHierarchy:
		// The value is <hierarchy>@<start record>. Without hierarchy data the
		// fake matches the start record itself ("which is Included").
		if err := noJS(value); err != nil {
			return nil, err
		}
		target := strings.ToLower(value[strings.LastIndexByte(value, '@')+1:])
		c.test = func(v string) bool { return v != "" && eqFold(v, target) }
	case opSameAs, opNotSameAs, opGtField, opLtField, opGeField, opLeField:
		return p.fieldComparison(c, k, spec.op, value)
	case opOn, opNotOn:
		return p.on(c, k, spec.op, value)
	case opRelGt, opRelLt, opRelGe, opRelLe:
		return p.relative(c, spec.op, value)
	case opDatePart:
		return p.datePart(c, value)
	case opMoreThan, opLessThan:
		return p.moreOrLessThan(c, spec.op, value)
	default:
		return nil, errUnsupported{fmt.Sprintf("operator %s not supported", spec.token)}
	}
	return c, nil
}

// equality returns the = test for a non-empty value, or nil when the value
// means "empty" ("" and the literal NULL, as in assigned_to=NULL).
func equality(k kind, value string) func(string) bool {
	if value == "" || value == "NULL" {
		return nil
	}
	lv := strings.ToLower(value)
	switch k {
	case kindBoolean:
		want := strings.ToLower(normBool(value))
		return func(v string) bool { return eqFold(normBool(v), want) }
	case kindNumber:
		if n, ok := parseNum(value); ok {
			return func(v string) bool {
				f, ok := parseNum(v)
				return ok && f == n
			}
		}
	}
	return func(v string) bool { return eqFold(v, lv) }
}

// membership compiles an IN list. Empty items never match: in SQL an empty
// string in the list does not match NULL, and the fake stores NULL as "".
func membership(k kind, items []string) func(string) bool {
	set := foldSet{}
	nums := map[float64]struct{}{}
	for _, it := range items {
		if it == "" {
			continue
		}
		if k == kindBoolean {
			it = normBool(it)
		}
		set[strings.ToLower(it)] = struct{}{}
		if n, ok := parseNum(it); ok && k == kindNumber {
			nums[n] = struct{}{}
		}
	}
	switch {
	case k == kindBoolean:
		return func(v string) bool { return set.has(normBool(v)) }
	case len(nums) > 0:
		return func(v string) bool {
			if f, ok := parseNum(v); ok {
				if _, hit := nums[f]; hit {
					return true
				}
			}
			return v != "" && set.has(v)
		}
	}
	return func(v string) bool { return v != "" && set.has(v) }
}

// comparer returns cmp(stored, value) for ordered operators.
func comparer(k kind, value string) func(string) int {
	switch k {
	case kindDate:
		return func(v string) int { return compareDate(v, value) }
	case kindNumber, kindChoice:
		if n, ok := parseNum(value); ok {
			lv := strings.ToLower(value)
			return func(v string) int {
				if f, ok := parseNum(v); ok {
					return compareFloat(f, n)
				}
				return compareFold(v, lv)
			}
		}
	}
	lv := strings.ToLower(value)
	return func(v string) int { return compareFold(v, lv) }
}

// ordered builds >, >=, <, <=; empty values never compare (SQL NULL).
func ordered(op opCode, cmp func(string) int) func(string) bool {
	switch op {
	case opGt:
		return func(v string) bool { return v != "" && cmp(v) > 0 }
	case opGe:
		return func(v string) bool { return v != "" && cmp(v) >= 0 }
	case opLt:
		return func(v string) bool { return v != "" && cmp(v) < 0 }
	}
	return func(v string) bool { return v != "" && cmp(v) <= 0 }
}

// between compiles BETWEEN, ON (inclusive) and NOTON (outside, non-empty).
func (p *parser) between(c *cond, k kind, lo, hi string, outside bool) (*cond, error) {
	lo, err := p.resolve(lo)
	if err != nil {
		return nil, err
	}
	hi, err = p.resolve(hi)
	if err != nil {
		return nil, err
	}
	cmpLo, cmpHi := comparer(k, lo), comparer(k, hi)
	in := func(v string) bool { return cmpLo(v) >= 0 && cmpHi(v) <= 0 }
	if outside {
		c.test = func(v string) bool { return v != "" && !in(v) }
	} else {
		c.test = func(v string) bool { return v != "" && in(v) }
	}
	return c, nil
}

// on compiles fieldONlabel@start@end; the label (Today, "Last 7 days", ...)
// is only for display. A bare yyyy-MM-dd also works and means that day.
func (p *parser) on(c *cond, k kind, op opCode, value string) (*cond, error) {
	parts := strings.Split(value, "@")
	if k != kindDate {
		k = kindDate // ON compares chronologically whatever the column
	}
	switch {
	case len(parts) == 3:
		return p.between(c, k, parts[1], parts[2], op == opNotOn)
	case len(parts) == 1:
		if _, err := time.Parse(dateLayout, value); err == nil {
			return p.between(c, k, value+" "+midnight, value+" 23:59:59", op == opNotOn)
		}
	}
	return nil, errors.New("ON needs label@start@end")
}

// relative compiles fieldRELATIVEGT@hour@ago@3: after (GT) or before (LT)
// the moment 3 hours ago.
func (p *parser) relative(c *cond, op opCode, value string) (*cond, error) {
	parts := strings.Split(strings.TrimPrefix(value, "@"), "@")
	if len(parts) != 3 {
		return nil, errors.New("RELATIVE needs @unit@ago|ahead@count")
	}
	u, ok := parseUnit(parts[0])
	if !ok {
		return nil, fmt.Errorf("unknown unit %q", parts[0])
	}
	n, err := parseShift(parts[2])
	if err != nil {
		return nil, err
	}
	switch parts[1] {
	case "ago":
		n = -n
	case "ahead":
	default:
		return nil, fmt.Errorf("want ago or ahead, got %q", parts[1])
	}
	threshold := formatDateTime(u.add(p.now, n))
	cmp := func(v string) int { return compareDate(v, threshold) }
	switch op {
	case opRelGt:
		c.test = ordered(opGt, cmp)
	case opRelGe:
		c.test = ordered(opGe, cmp)
	case opRelLt:
		c.test = ordered(opLt, cmp)
	default:
		c.test = ordered(opLe, cmp)
	}
	return c, nil
}

// otherField checks the field named in a field-to-field comparison.
func (p *parser) otherField(name string) (kind, error) {
	typ, ok := p.fieldType(name)
	if !ok {
		return 0, fmt.Errorf("unknown field %q", name)
	}
	return kindOf(typ), nil
}

// fieldComparison compiles SAMEAS, NSAMEAS (optionally other@unit for dates)
// and the *_FIELD operators. Rows where either side is empty never match
// (KB0715430: "is same as"/"is different from" skip NULLs).
func (p *parser) fieldComparison(c *cond, k kind, op opCode, value string) (*cond, error) {
	other, unitName, hasUnit := strings.Cut(value, "@")
	if _, err := p.otherField(other); err != nil {
		return nil, err
	}
	c.other = other
	cmp := func(a, b string) int { return compareValues(k, a, b) }
	if hasUnit {
		if op != opSameAs && op != opNotSameAs {
			return nil, errors.New("a unit is only allowed with SAMEAS and NSAMEAS")
		}
		u, ok := parseUnit(unitName)
		if !ok {
			return nil, fmt.Errorf("unknown unit %q", unitName)
		}
		cmp = func(a, b string) int {
			ta, okA := parseDateTime(a)
			tb, okB := parseDateTime(b)
			if !okA || !okB {
				return compareFold(a, b)
			}
			return u.truncate(ta).Compare(u.truncate(tb))
		}
	}
	var test func(int) bool
	switch op {
	case opSameAs:
		test = func(c int) bool { return c == 0 }
	case opNotSameAs:
		test = func(c int) bool { return c != 0 }
	case opGtField:
		test = func(c int) bool { return c > 0 }
	case opLtField:
		test = func(c int) bool { return c < 0 }
	case opGeField:
		test = func(c int) bool { return c >= 0 }
	default:
		test = func(c int) bool { return c <= 0 }
	}
	c.test2 = func(a, b string) bool { return a != "" && b != "" && test(cmp(a, b)) }
	return c, nil
}

// moreOrLessThan compiles fieldMORETHANother@day@before@1. The docs read
// "MORETHAN activity_due@day@before@1" as "two or more days before
// activity_due", so both dates are cut to the unit first. LESSTHAN is the
// complement without the boundary: less than n units before (or after).
func (p *parser) moreOrLessThan(c *cond, op opCode, value string) (*cond, error) {
	parts := strings.Split(value, "@")
	if len(parts) != 4 {
		return nil, errors.New("MORETHAN/LESSTHAN need field@unit@before|after@count")
	}
	if _, err := p.otherField(parts[0]); err != nil {
		return nil, err
	}
	u, ok := parseUnit(parts[1])
	if !ok {
		return nil, fmt.Errorf("unknown unit %q", parts[1])
	}
	n, err := parseShift(parts[3])
	if err != nil {
		return nil, err
	}
	var before bool
	switch parts[2] {
	case "before":
		before = true
	case "after":
	default:
		return nil, fmt.Errorf("want before or after, got %q", parts[2])
	}
	c.other = parts[0]
	c.test2 = func(a, b string) bool {
		ta, okA := parseDateTime(a)
		tb, okB := parseDateTime(b)
		if !okA || !okB {
			return false
		}
		ta, tb = u.truncate(ta), u.truncate(tb)
		if before {
			limit := u.add(tb, -n)
			if op == opMoreThan {
				return ta.Before(limit)
			}
			return ta.After(limit)
		}
		limit := u.add(tb, n)
		if op == opMoreThan {
			return ta.After(limit)
		}
		return ta.Before(limit)
	}
	return c, nil
}

var weekdays = map[string]int{
	"sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7,
}

var months = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}

// datePart compiles
// fieldDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','GE').
// Days of the week count from Sunday (1) as in the docs' examples: "on or
// before Monday" is Sunday or Monday.
func (p *parser) datePart(c *cond, value string) (*cond, error) {
	_, expr, ok := strings.Cut(value, "@")
	if !ok {
		return nil, errors.New("DATEPART needs label@javascript:gs.datePart(...)")
	}
	name, args, ok := jsCall(expr)
	if !ok || name != "datePart" || len(args) != 3 {
		return nil, errUnsupported{"DATEPART expression not supported"}
	}
	part, want, cmpOp := args[0], strings.ToLower(args[1]), args[2]
	var extract func(time.Time) int
	var target int
	var err error
	lookup := func(names map[string]int) (int, error) {
		if n, ok := names[want]; ok {
			return n, nil
		}
		return parseShift(want)
	}
	switch part {
	case "dayofweek":
		extract = func(t time.Time) int { return int(t.Weekday()) + 1 }
		target, err = lookup(weekdays)
	case "month":
		extract = func(t time.Time) int { return int(t.Month()) }
		target, err = lookup(months)
	case "quarter":
		extract = func(t time.Time) int { return (int(t.Month())-1)/3 + 1 }
		target, err = parseShift(want)
	case "year":
		extract = func(t time.Time) int { return t.Year() }
		target, err = parseShift(want)
	case "dayofmonth":
		extract = func(t time.Time) int { return t.Day() }
		target, err = parseShift(want)
	case "hour":
		extract = func(t time.Time) int { return t.Hour() }
		target, err = parseShift(want)
	default:
		return nil, errUnsupported{fmt.Sprintf("DATEPART part %q not supported", part)}
	}
	if err != nil {
		return nil, fmt.Errorf("bad DATEPART value %q", args[1])
	}
	var test func(int) bool
	switch cmpOp {
	case "EE":
		test = func(n int) bool { return n == target }
	case "GE":
		test = func(n int) bool { return n >= target }
	case "GT":
		test = func(n int) bool { return n > target }
	case "LE":
		test = func(n int) bool { return n <= target }
	case "LT":
		test = func(n int) bool { return n < target }
	default:
		return nil, fmt.Errorf("bad DATEPART comparison %q", cmpOp)
	}
	c.test = func(v string) bool {
		t, ok := parseDateTime(v)
		return ok && test(extract(t))
	}
	return c, nil
}
