package query

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEvalJS(t *testing.T) {
	t.Parallel()
	// fixedNow is Friday 2024-03-15 12:34:56 UTC.
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"beginningOfToday", "javascript:gs.beginningOfToday()", "2024-03-15 00:00:00"},
		{"endOfToday", "javascript:gs.endOfToday()", "2024-03-15 23:59:59"},
		{"beginningOfYesterday", "javascript:gs.beginningOfYesterday()", "2024-03-14 00:00:00"},
		{"endOfYesterday", "javascript:gs.endOfYesterday()", "2024-03-14 23:59:59"},
		{"beginningOfTomorrow", "javascript:gs.beginningOfTomorrow()", "2024-03-16 00:00:00"},
		{"endOfTomorrow", "javascript:gs.endOfTomorrow()", "2024-03-16 23:59:59"},
		{"beginningOfThisWeek is Monday", "javascript:gs.beginningOfThisWeek()", "2024-03-11 00:00:00"},
		{"endOfThisWeek is Sunday", "javascript:gs.endOfThisWeek()", "2024-03-17 23:59:59"},
		{"beginningOfLastWeek", "javascript:gs.beginningOfLastWeek()", "2024-03-04 00:00:00"},
		{"endOfLastWeek", "javascript:gs.endOfLastWeek()", "2024-03-10 23:59:59"},
		{"beginningOfNextWeek", "javascript:gs.beginningOfNextWeek()", "2024-03-18 00:00:00"},
		{"beginningOfThisMonth", "javascript:gs.beginningOfThisMonth()", "2024-03-01 00:00:00"},
		{"endOfThisMonth", "javascript:gs.endOfThisMonth()", "2024-03-31 23:59:59"},
		{"beginningOfLastMonth", "javascript:gs.beginningOfLastMonth()", "2024-02-01 00:00:00"},
		{"endOfLastMonth in a leap year", "javascript:gs.endOfLastMonth()", "2024-02-29 23:59:59"},
		{"endOfNextMonth", "javascript:gs.endOfNextMonth()", "2024-04-30 23:59:59"},
		{"beginningOfThisQuarter", "javascript:gs.beginningOfThisQuarter()", "2024-01-01 00:00:00"},
		{"endOfThisQuarter", "javascript:gs.endOfThisQuarter()", "2024-03-31 23:59:59"},
		{"beginningOfNextQuarter", "javascript:gs.beginningOfNextQuarter()", "2024-04-01 00:00:00"},
		{"beginningOfLastYear", "javascript:gs.beginningOfLastYear()", "2023-01-01 00:00:00"},
		{"endOfThisYear", "javascript:gs.endOfThisYear()", "2024-12-31 23:59:59"},
		{"beginningOfCurrentHour", "javascript:gs.beginningOfCurrentHour()", "2024-03-15 12:00:00"},
		{"endOfLastMinute", "javascript:gs.endOfLastMinute()", "2024-03-15 12:33:59"},
		{"beginningOfLast15Minutes", "javascript:gs.beginningOfLast15Minutes()", "2024-03-15 12:19:56"},
		{"endOfLast15Minutes", "javascript:gs.endOfLast15Minutes()", "2024-03-15 12:34:56"},
		{"daysAgo", "javascript:gs.daysAgo(2)", "2024-03-13 12:34:56"},
		{"daysAgoStart", "javascript:gs.daysAgoStart(2)", "2024-03-13 00:00:00"},
		{"daysAgoEnd", "javascript:gs.daysAgoEnd(2)", "2024-03-13 23:59:59"},
		{"daysAgoStart negative is the future", "javascript:gs.daysAgoStart(-1)", "2024-03-16 00:00:00"},
		{"hoursAgo", "javascript:gs.hoursAgo(1)", "2024-03-15 11:34:56"},
		{"hoursAgoStart", "javascript:gs.hoursAgoStart(1)", "2024-03-15 11:00:00"},
		{"hoursAgoEnd", "javascript:gs.hoursAgoEnd(1)", "2024-03-15 11:59:59"},
		{"minutesAgo", "javascript:gs.minutesAgo(5)", "2024-03-15 12:29:56"},
		{"minutesAgoStart", "javascript:gs.minutesAgoStart(5)", "2024-03-15 12:29:00"},
		{"minutesAgoEnd", "javascript:gs.minutesAgoEnd(5)", "2024-03-15 12:29:59"},
		{"monthsAgo", "javascript:gs.monthsAgo(1)", "2024-02-15 12:34:56"},
		{"monthsAgoStart", "javascript:gs.monthsAgoStart(1)", "2024-02-01 00:00:00"},
		{"monthsAgoEnd", "javascript:gs.monthsAgoEnd(1)", "2024-02-29 23:59:59"},
		{"quartersAgoStart", "javascript:gs.quartersAgoStart(1)", "2023-10-01 00:00:00"},
		{"quartersAgoEnd", "javascript:gs.quartersAgoEnd(1)", "2023-12-31 23:59:59"},
		{"yearsAgo", "javascript:gs.yearsAgo(1)", "2023-03-15 12:34:56"},
		{"now is a date", "javascript:gs.now()", "2024-03-15"},
		{"nowDateTime", "javascript:gs.nowDateTime()", "2024-03-15 12:34:56"},
		{"dateGenerate with a time", "javascript:gs.dateGenerate('2015-10-07','13:14:15')", "2015-10-07 13:14:15"},
		{"dateGenerate start", "javascript:gs.dateGenerate('2015-10-07','start')", "2015-10-07 00:00:00"},
		{"dateGenerate end", "javascript:gs.dateGenerate(\"2015-10-07\", \"end\")", "2015-10-07 23:59:59"},
		{"spaces and a semicolon", "javascript: gs.daysAgoStart( 0 ) ;", "2024-03-15 00:00:00"},
		{"quoted number", "javascript:gs.daysAgo('1')", "2024-03-14 12:34:56"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := evalJS(tt.expr, fixedNow)
			if err != nil {
				t.Fatalf("evalJS(%q) error: %v", tt.expr, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("evalJS(%q) mismatch (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestEvalJSErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		expr            string
		wantUnsupported bool
	}{
		{"not whitelisted", "javascript:gs.getUserID()", true},
		{"not a gs call", "javascript:new Date()", true},
		{"two calls", "javascript:gs.daysAgo(1)+gs.daysAgo(2)", true},
		{"datePart outside DATEPART", "javascript:gs.datePart('dayofweek','monday','GE')", true},
		{"missing argument", "javascript:gs.daysAgo()", false},
		{"extra argument", "javascript:gs.beginningOfToday(1)", false},
		{"not a number", "javascript:gs.daysAgo(x)", false},
		{"huge number", "javascript:gs.daysAgo(99999999999)", false},
		{"bad date", "javascript:gs.dateGenerate('2015-13-01','start')", false},
		{"bad time", "javascript:gs.dateGenerate('2015-10-01','25:00:00')", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := evalJS(tt.expr, fixedNow)
			if err == nil {
				t.Fatalf("evalJS(%q) succeeded, want an error", tt.expr)
			}
			var u errUnsupported
			if got := errors.As(err, &u); got != tt.wantUnsupported {
				t.Errorf("evalJS(%q) error %q: unsupported = %v, want %v", tt.expr, err, got, tt.wantUnsupported)
			}
		})
	}
}

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from time.Time
		n    int
		want string
	}{
		{"March 31 back one month", time.Date(2024, 3, 31, 9, 0, 0, 0, time.UTC), -1, "2024-02-29 09:00:00"},
		{"January 31 forward one month", time.Date(2023, 1, 31, 0, 0, 0, 0, time.UTC), 1, "2023-02-28 00:00:00"},
		{"across years", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), -13, "2022-12-15 00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, formatDateTime(addMonths(tt.from, tt.n))); diff != "" {
				t.Errorf("addMonths mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   time.Time
		wantOK bool
	}{
		{"date-time", "2024-03-15 12:34:56", fixedNow, true},
		{"date", "2024-03-15", time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), true},
		{"empty", "", time.Time{}, false},
		{"no such day", "2024-02-30", time.Time{}, false},
		{"bad hour", "2024-03-15 24:00:00", time.Time{}, false},
		{"T separator", "2024-03-15T12:34:56", time.Time{}, false},
		{"letters", "2024-0a-15", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseDateTime(tt.in)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("parseDateTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCompareDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"same date-time", "2024-03-15 10:00:00", "2024-03-15 10:00:00", 0},
		{"date equals its midnight", "2024-03-15", "2024-03-15 00:00:00", 0},
		{"midnight equals its date", "2024-03-15 00:00:00", "2024-03-15", 0},
		{"date before later that day", "2024-03-15", "2024-03-15 00:00:01", -1},
		{"later that day after date", "2024-03-15 00:00:01", "2024-03-15", 1},
		{"earlier date", "2024-03-14", "2024-03-15 00:00:00", -1},
		{"plain strings", "abc", "abd", -1},
		{"date against a shorter string", "2024-03-15", "2024-03-15 ", 1},
		{"date against a longer date-time", "2024-03-15", "2024-03-15 00:00:00.5", -1},
		{"both dates", "2024-03-16", "2024-03-15", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := compareDate(tt.a, tt.b); got != tt.want {
				t.Errorf("compareDate(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestFoldHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		s     string
		lower string
		eq    bool
		has   bool
		pre   bool
		suf   bool
	}{
		{"ascii equal", "Hello", "hello", true, true, true, true},
		{"ascii contains", "Say Hello There", "hello", false, true, false, false},
		{"ascii prefix", "HELLO world", "hello", false, true, true, false},
		{"ascii suffix", "world HELLO", "hello", false, true, false, true},
		{"non-ascii equal", "ÉCOLE", "école", true, true, true, true},
		{"non-ascii contains", "Grande ÉCOLE ici", "école", false, true, false, false},
		{"kelvin sign folds to k", "\u212Aey", "key", true, true, true, true},
		{"empty needle", "x", "", false, true, true, true},
		{"needle longer", "ab", "abc", false, false, false, false},
		{"different", "abc", "abd", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []bool{eqFold(tt.s, tt.lower), containsFold(tt.s, tt.lower), hasPrefixFold(tt.s, tt.lower), hasSuffixFold(tt.s, tt.lower)}
			want := []bool{tt.eq, tt.has, tt.pre, tt.suf}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[eq contains prefix suffix](%q, %q) mismatch (-want +got):\n%s", tt.s, tt.lower, diff)
			}
			set := foldSet{tt.lower: {}}
			if got := set.has(tt.s); got != tt.eq {
				t.Errorf("foldSet{%q}.has(%q) = %v, want %v", tt.lower, tt.s, got, tt.eq)
			}
		})
	}
}

func TestLooksNumeric(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"0", true}, {"-12", true}, {"+3.5", true}, {".5", true}, {"5.", true}, {"1e3", true}, {"1E-3", true},
		{"", false}, {"-", false}, {".", false}, {"1e", false}, {"NaN", false}, {"Inf", false},
		{"0x10", false}, {"1_000", false}, {" 1", false}, {"1 ", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := looksNumeric(tt.in); got != tt.want {
				t.Errorf("looksNumeric(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
