package fakesn

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewDefaultSeed(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	if err := s.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

func TestControlAPIOverBothTransports(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	forEachTransport(t, func() Options { return Options{Clock: NewFakeClock(start)} }, func(t *testing.T, s *Server, c *http.Client, base string) {
		ctl := NewAdminClient(base, "", c)
		ctx := context.Background()
		if err := ctl.Health(ctx); err != nil {
			t.Fatalf("Health: %v", err)
		}
		now, err := ctl.AdvanceClock(ctx, 90*time.Second)
		if err != nil {
			t.Fatalf("AdvanceClock: %v", err)
		}
		if want := start.Add(90 * time.Second); !now.Equal(want) {
			t.Errorf("AdvanceClock: got %v, want %v", now, want)
		}
		f, err := ctl.AddFault(ctx, Fault{Path: "/api/now/table/incident", Status: 503})
		if err != nil {
			t.Fatalf("AddFault: %v", err)
		}
		resp, err := c.Get(base + "/api/now/table/incident")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), `"status":"failure"`) {
			t.Errorf("fault: got %d %s, want 503 envelope", resp.StatusCode, body)
		}
		entries, err := ctl.Journal(ctx, JournalFilter{Path: "/api/now/table/*"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Fault != f.ID || entries[0].Status != 503 {
			t.Errorf("journal: got %+v, want one entry answered by fault %s", entries, f.ID)
		}
	})
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Users: []User{{UserName: "canary.user", Password: "pw-canary"}},
		Apps: []App{{ClientID: "canary-app", ClientSecret: "cs-canary"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"default admin", s.CheckUserPassword("admin", "admin"), true},
		{"wrong password", s.CheckUserPassword("admin", "Admin"), false},
		{"unknown user", s.CheckUserPassword("nobody", "admin"), false},
		{"option user", s.CheckUserPassword("canary.user", "pw-canary"), true},
		{"default client", s.CheckClientSecret("sncheck-client", "sncheck-secret"), true},
		{"wrong secret", s.CheckClientSecret("sncheck-client", "sncheck-secret "), false},
		{"option app", s.CheckClientSecret("canary-app", "cs-canary"), true},
		{"unknown app", s.CheckClientSecret("nope", "cs-canary"), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
