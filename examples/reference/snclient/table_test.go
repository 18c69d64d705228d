package snclient

import (
	"net/http"
	"testing"
	"time"
)

func TestLinkNext(t *testing.T) {
	t.Parallel()
	const base = "https://dev1.service-now.com/api/now/table/sys_user?sysparm_limit=1&sysparm_offset="
	tests := []struct {
		name   string
		header string
		want   int
		ok     bool
	}{
		{name: "captured first page", header: `<` + base + `0>;rel="first",<` + base + `-1>;rel="prev",<` + base + `1>;rel="next",<` + base + `627>;rel="last"`, want: 1, ok: true},
		{name: "last page has no next", header: `<` + base + `0>;rel="first",<` + base + `0>;rel="prev",<` + base + `500>;rel="last"`},
		{name: "no header"},
		{name: "spaces and unquoted rel", header: `<` + base + `0>; rel=first, <` + base + `4>; rel=next`, want: 4, ok: true},
		{name: "negative next", header: `<` + base + `-3>;rel="next"`},
		{name: "no offset", header: `<https://x/api/now/table/t?sysparm_limit=2>;rel="next"`},
		{name: "garbage", header: `;;;,,<>;rel="next"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := linkNext(tc.header)
			if got != tc.want || ok != tc.ok {
				t.Errorf("linkNext(%q) = %d, %v; want %d, %v", tc.header, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{name: "seconds", value: "2", want: 2 * time.Second, ok: true},
		{name: "absent"},
		{name: "negative", value: "-1"},
		{name: "past date", value: "Mon, 02 Jan 2006 15:04:05 GMT", want: 0, ok: true},
		{name: "junk", value: "soon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			got, ok := retryAfter(h)
			if got != tc.want || ok != tc.ok {
				t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	got := redactQuery(map[string][]string{"sysparm_limit": {"5"}, "access_token": {"tok"}, "Client_Secret": {"s"}})
	if want := "Client_Secret=REDACTED&access_token=REDACTED&sysparm_limit=5"; got != want {
		t.Errorf("redactQuery = %q, want %q", got, want)
	}
}
