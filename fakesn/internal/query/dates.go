package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Stored and generated date-times use the Table API's raw form, in UTC.
const (
	dateTimeLayout = "2006-01-02 15:04:05"
	dateLayout     = "2006-01-02"
	midnight       = "00:00:00"
)

func formatDateTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

// parseDateTime reads "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd" without
// allocating (it runs in the match path of DATEPART, SAMEAS@unit, MORETHAN).
func parseDateTime(s string) (time.Time, bool) {
	if len(s) != len(dateLayout) && len(s) != len(dateTimeLayout) {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	var h, mi, sec int
	if len(s) == len(dateTimeLayout) {
		if s[10] != ' ' || s[13] != ':' || s[16] != ':' {
			return time.Time{}, false
		}
		var ok4, ok5, ok6 bool
		h, ok4 = num(11, 13)
		mi, ok5 = num(14, 16)
		sec, ok6 = num(17, 19)
		if !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || sec > 59 {
			return time.Time{}, false
		}
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 2024-02-30 and the like
		return time.Time{}, false
	}
	return t, true
}

// compareDate orders two raw date or date-time strings. A bare date compares
// as its midnight, which is how MySQL promotes a DATE against a DATETIME: the
// glide_date "2024-01-05" is ON Today (00:00:00 to 23:59:59) and
// ">= 2024-01-05 00:00:00". Padding depends on each string alone, so the
// order stays transitive.
func compareDate(a, b string) int {
	padA, padB := len(a) == len(dateLayout), len(b) == len(dateLayout)
	switch {
	case padA == padB:
		return strings.Compare(a, b)
	case padA:
		return compareWithSuffix(a, midnightSuffix, b)
	}
	return -compareWithSuffix(b, midnightSuffix, a)
}

const midnightSuffix = " " + midnight

// compareWithSuffix compares a+suffix with b without building the string.
// suffix must not be empty.
func compareWithSuffix(a, suffix, b string) int {
	if len(b) <= len(a) {
		if c := strings.Compare(a[:len(b)], b); c != 0 {
			return c
		}
		return 1
	}
	if c := strings.Compare(a, b[:len(a)]); c != 0 {
		return c
	}
	return strings.Compare(suffix, b[len(a):])
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// endOf turns the start of a period into its last second, the way
// gs.endOf*() report it (23:59:59, not the next midnight).
func endOf(nextStart time.Time) time.Time { return nextStart.Add(-time.Second) }

// startOfWeek uses Monday, the platform default first day of the week.
func startOfWeek(t time.Time) time.Time {
	d := startOfDay(t)
	offset := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -offset)
}

func startOfMonth(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func startOfQuarter(t time.Time) time.Time {
	m := (t.Month()-1)/3*3 + 1
	return time.Date(t.Year(), m, 1, 0, 0, 0, 0, time.UTC)
}

func startOfYear(t time.Time) time.Time {
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
}

// addMonths clamps to the end of the month like java.util.Calendar does
// (Mar 31 minus one month is Feb 29, not Mar 2).
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}

// unit is a calendar unit used by RELATIVE*, MORETHAN/LESSTHAN and SAMEAS@unit.
type unit int

const (
	unitSecond unit = iota
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitQuarter
	unitYear
)

func parseUnit(s string) (unit, bool) {
	switch s {
	case "second":
		return unitSecond, true
	case "minute":
		return unitMinute, true
	case "hour":
		return unitHour, true
	case "day", "dayofweek": // the condition builder sends "dayofweek" for Days
		return unitDay, true
	case "week":
		return unitWeek, true
	case "month":
		return unitMonth, true
	case "quarter":
		return unitQuarter, true
	case "year":
		return unitYear, true
	}
	return 0, false
}

func (u unit) add(t time.Time, n int) time.Time {
	switch u {
	case unitSecond:
		return t.Add(time.Duration(n) * time.Second)
	case unitMinute:
		return t.Add(time.Duration(n) * time.Minute)
	case unitHour:
		return t.Add(time.Duration(n) * time.Hour)
	case unitDay:
		return t.AddDate(0, 0, n)
	case unitWeek:
		return t.AddDate(0, 0, 7*n)
	case unitMonth:
		return addMonths(t, n)
	case unitQuarter:
		return addMonths(t, 3*n)
	}
	return addMonths(t, 12*n)
}

func (u unit) truncate(t time.Time) time.Time {
	switch u {
	case unitSecond:
		return t
	case unitMinute:
		return t.Truncate(time.Minute)
	case unitHour:
		return t.Truncate(time.Hour)
	case unitDay:
		return startOfDay(t)
	case unitWeek:
		return startOfWeek(t)
	case unitMonth:
		return startOfMonth(t)
	case unitQuarter:
		return startOfQuarter(t)
	}
	return startOfYear(t)
}

// maxShift bounds numeric arguments so that date arithmetic stays in a sane
// range whatever the input (about 2,700 years in days).
const maxShift = 1_000_000

func parseShift(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < -maxShift || n > maxShift {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return n, nil
}

// gsFunc is one whitelisted GlideSystem date function.
type gsFunc struct {
	args int
	eval func(now time.Time, args []string) (string, error)
}

func fixed(f func(now time.Time) time.Time) gsFunc {
	return gsFunc{0, func(now time.Time, _ []string) (string, error) {
		return formatDateTime(f(now)), nil
	}}
}

func shifted(f func(now time.Time, n int) time.Time) gsFunc {
	return gsFunc{1, func(now time.Time, args []string) (string, error) {
		n, err := parseShift(args[0])
		if err != nil {
			return "", err
		}
		return formatDateTime(f(now, n)), nil
	}}
}

// period builds the beginningOf*/endOf* pair for a calendar period that starts
// at start(now) shifted by off periods.
func period(start func(time.Time) time.Time, u unit, off int) (gsFunc, gsFunc) {
	begin := func(now time.Time) time.Time { return u.add(start(now), off) }
	return fixed(begin), fixed(func(now time.Time) time.Time { return endOf(u.add(begin(now), 1)) })
}

func rolling(d time.Duration) (gsFunc, gsFunc) {
	return fixed(func(now time.Time) time.Time { return now.Add(-d) }),
		fixed(func(now time.Time) time.Time { return now })
}

// gsFuncs is the javascript: whitelist. Everything is computed in UTC from
// Options.Now; a real instance uses the session user's time zone.
var gsFuncs = func() map[string]gsFunc {
	m := map[string]gsFunc{
		"now":         {0, func(now time.Time, _ []string) (string, error) { return now.Format(dateLayout), nil }},
		"nowDateTime": fixed(func(now time.Time) time.Time { return now }),
		"nowNoTZ":     fixed(func(now time.Time) time.Time { return now }),

		"daysAgo":      shifted(func(now time.Time, n int) time.Time { return now.AddDate(0, 0, -n) }),
		"daysAgoStart": shifted(func(now time.Time, n int) time.Time { return startOfDay(now.AddDate(0, 0, -n)) }),
		"daysAgoEnd": shifted(func(now time.Time, n int) time.Time {
			return endOf(startOfDay(now.AddDate(0, 0, -n+1)))
		}),
		"hoursAgo":      shifted(func(now time.Time, n int) time.Time { return unitHour.add(now, -n) }),
		"hoursAgoStart": shifted(func(now time.Time, n int) time.Time { return unitHour.add(now, -n).Truncate(time.Hour) }),
		"hoursAgoEnd": shifted(func(now time.Time, n int) time.Time {
			return endOf(unitHour.add(now, -n+1).Truncate(time.Hour))
		}),
		"minutesAgo": shifted(func(now time.Time, n int) time.Time { return unitMinute.add(now, -n) }),
		"minutesAgoStart": shifted(func(now time.Time, n int) time.Time {
			return unitMinute.add(now, -n).Truncate(time.Minute)
		}),
		"minutesAgoEnd": shifted(func(now time.Time, n int) time.Time {
			return endOf(unitMinute.add(now, -n+1).Truncate(time.Minute))
		}),
		"monthsAgo":      shifted(func(now time.Time, n int) time.Time { return addMonths(now, -n) }),
		"monthsAgoStart": shifted(func(now time.Time, n int) time.Time { return addMonths(startOfMonth(now), -n) }),
		"monthsAgoEnd": shifted(func(now time.Time, n int) time.Time {
			return endOf(addMonths(startOfMonth(now), -n+1))
		}),
		"quartersAgo": shifted(func(now time.Time, n int) time.Time { return addMonths(now, -3*n) }),
		"quartersAgoStart": shifted(func(now time.Time, n int) time.Time {
			return addMonths(startOfQuarter(now), -3*n)
		}),
		"quartersAgoEnd": shifted(func(now time.Time, n int) time.Time {
			return endOf(addMonths(startOfQuarter(now), -3*n+3))
		}),
		"yearsAgo": shifted(func(now time.Time, n int) time.Time { return addMonths(now, -12*n) }),

		"dateGenerate": {2, dateGenerate},
	}
	pairs := []struct {
		name  string
		start func(time.Time) time.Time
		u     unit
	}{
		{"Day", startOfDay, unitDay},
		{"Week", startOfWeek, unitWeek},
		{"Month", startOfMonth, unitMonth},
		{"Quarter", startOfQuarter, unitQuarter},
		{"Year", startOfYear, unitYear},
	}
	for _, p := range pairs {
		this, last, next := "This"+p.name, "Last"+p.name, "Next"+p.name
		if p.name == "Day" {
			this, last, next = "Today", "Yesterday", "Tomorrow"
		}
		for name, off := range map[string]int{this: 0, last: -1, next: 1} {
			m["beginningOf"+name], m["endOf"+name] = period(p.start, p.u, off)
		}
	}
	trunc := func(d time.Duration) func(time.Time) time.Time {
		return func(t time.Time) time.Time { return t.Truncate(d) }
	}
	m["beginningOfCurrentMinute"], m["endOfCurrentMinute"] = period(trunc(time.Minute), unitMinute, 0)
	m["beginningOfLastMinute"], m["endOfLastMinute"] = period(trunc(time.Minute), unitMinute, -1)
	m["beginningOfCurrentHour"], m["endOfCurrentHour"] = period(trunc(time.Hour), unitHour, 0)
	m["beginningOfNextHour"], m["endOfNextHour"] = period(trunc(time.Hour), unitHour, 1)
	// "Last 15 minutes", "Last hour" etc. are rolling windows ending now.
	m["beginningOfLast15Minutes"], m["endOfLast15Minutes"] = rolling(15 * time.Minute)
	m["beginningOfLast30Minutes"], m["endOfLast30Minutes"] = rolling(30 * time.Minute)
	m["beginningOfLast45Minutes"], m["endOfLast45Minutes"] = rolling(45 * time.Minute)
	m["beginningOfLastHour"], m["endOfLastHour"] = rolling(time.Hour)
	m["beginningOfLast2Hours"], m["endOfLast2Hours"] = rolling(2 * time.Hour)
	return m
}()

// dateGenerate('2015-10-07','00:00:00'); the time may also be 'start' or 'end'.
func dateGenerate(_ time.Time, args []string) (string, error) {
	d, err := time.Parse(dateLayout, args[0])
	if err != nil {
		return "", fmt.Errorf("bad date %q", args[0])
	}
	switch args[1] {
	case "start":
		return d.Format(dateLayout) + " " + midnight, nil
	case "end":
		return d.Format(dateLayout) + " 23:59:59", nil
	}
	t, err := time.Parse("15:04:05", args[1])
	if err != nil {
		return "", fmt.Errorf("bad time %q", args[1])
	}
	return d.Format(dateLayout) + " " + t.Format("15:04:05"), nil
}

const jsPrefix = "javascript:"

// errUnsupported marks a javascript: expression outside the whitelist.
type errUnsupported struct{ reason string }

func (e errUnsupported) Error() string { return e.reason }

// jsCall splits "javascript:gs.name(a, 'b');" into name and unquoted
// arguments. ok is false when the text is not a single gs.* call.
func jsCall(expr string) (name string, args []string, ok bool) {
	s := strings.TrimSpace(strings.TrimPrefix(expr, jsPrefix))
	s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	rest, found := strings.CutPrefix(s, "gs.")
	if !found {
		return "", nil, false
	}
	open := strings.IndexByte(rest, '(')
	if open <= 0 || !strings.HasSuffix(rest, ")") {
		return "", nil, false
	}
	name = rest[:open]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return "", nil, false
		}
	}
	inner := strings.TrimSpace(rest[open+1 : len(rest)-1])
	if inner == "" {
		return name, nil, true
	}
	for _, a := range strings.Split(inner, ",") {
		a = strings.TrimSpace(a)
		if len(a) >= 2 && (a[0] == '\'' || a[0] == '"') && a[len(a)-1] == a[0] {
			a = a[1 : len(a)-1]
		} else if strings.ContainsAny(a, "'\"()") {
			return "", nil, false
		}
		args = append(args, a)
	}
	return name, args, true
}

// evalJS evaluates a whitelisted javascript: value. It returns errUnsupported
// for anything outside the whitelist and a plain error for bad arguments.
func evalJS(expr string, now time.Time) (string, error) {
	name, args, ok := jsCall(expr)
	if !ok {
		return "", errUnsupported{"javascript expression not supported"}
	}
	f, known := gsFuncs[name]
	if !known {
		return "", errUnsupported{fmt.Sprintf("javascript function gs.%s not supported", name)}
	}
	if len(args) != f.args {
		return "", fmt.Errorf("gs.%s takes %d argument(s), got %d", name, f.args, len(args))
	}
	return f.eval(now, args)
}
