package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
)

// mdBlock is a fenced block of a Markdown document, with the heading it
// sits under.
type mdBlock struct {
	heading, lang, text string
	shape               bool // the paragraph before it says *shape*
}

var fence = regexp.MustCompile("(?m)^```(\\w*)\\n")

// mdBlocks splits a Markdown document into its fenced blocks.
func mdBlocks(doc string) []mdBlock {
	var out []mdBlock
	heading := ""
	shape := false
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "#"):
			heading, shape = strings.TrimSpace(strings.TrimLeft(l, "#")), false
		case strings.TrimSpace(l) == "*shape*":
			shape = true
		case strings.HasPrefix(l, "```") && len(l) > 3 || l == "```":
			lang := strings.TrimPrefix(l, "```")
			var body []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				body = append(body, lines[i])
			}
			out = append(out, mdBlock{heading: heading, lang: lang, text: strings.Join(body, "\n"), shape: shape})
			shape = false
		}
	}
	return out
}

var controlRoute = regexp.MustCompile(`mux\.HandleFunc\("((?:GET|POST|PUT|PATCH|DELETE) /_fakesn/[^"]*)"`)

// TestControlAPIDoc keeps docs/control-api.md in step with the control
// routes of fakesn/routes.go, and runs every example in it against a
// fresh fake, comparing the answers.
func TestControlAPIDoc(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "control-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	routesSrc, err := os.ReadFile(filepath.Join("..", "..", "fakesn", "routes.go"))
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range controlRoute.FindAllStringSubmatch(string(routesSrc), -1) {
		routes = append(routes, m[1])
	}
	blocks := mdBlocks(string(data))
	var documented []string
	for _, b := range blocks {
		if ep, ok := strings.CutPrefix(b.heading, "`"); ok && b.lang == "http" {
			documented = append(documented, strings.TrimSuffix(ep, "`"))
		}
	}
	slices.Sort(routes)
	sorted := slices.Clone(documented)
	slices.Sort(sorted)
	if len(routes) < 10 {
		t.Fatalf("found only %d control routes in fakesn/routes.go: has its form changed?", len(routes))
	}
	if diff := cmp.Diff(routes, sorted); diff != "" {
		t.Errorf("the endpoints documented with an example differ from fakesn/routes.go (-routes +doc):\n%s", diff)
	}

	srv, err := fakesn.NewServer(fakesn.Options{Clock: fakesn.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	call := func(srv *fakesn.Server, method, target, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, srv.URL()+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(target, "/oauth") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, got
	}
	if code, body := call(srv, http.MethodPost, "/oauth_token.do", url.Values{
		"grant_type": {"password"}, "client_id": {"sncheck-client"}, "client_secret": {"sncheck-secret"},
		"username": {"admin"}, "password": {"admin"},
	}.Encode()); code != http.StatusOK {
		t.Fatalf("the password grant before the examples: %d %s", code, body)
	}

	var errorExamples []mdBlock
	var snapshot []byte
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if b.lang == "json" && !strings.HasPrefix(b.heading, "`") {
			errorExamples = append(errorExamples, b)
			continue
		}
		if b.lang != "http" {
			continue
		}
		if i+1 >= len(blocks) || blocks[i+1].lang != "json" || blocks[i+1].heading != b.heading {
			t.Errorf("%s: the request example has no answer example after it", b.heading)
			continue
		}
		answer := blocks[i+1]
		i++
		reqLine, body, _ := strings.Cut(b.text, "\n")
		method, target, _ := strings.Cut(reqLine, " ")
		if body == "<the answer of GET /_fakesn/snapshot>" {
			body = string(snapshot)
		}
		code, got := call(srv, method, target, body)
		if code != http.StatusOK {
			t.Errorf("%s: %s answered %d %s", b.heading, reqLine, code, got)
			continue
		}
		if reqLine == "GET /_fakesn/snapshot" {
			snapshot = got
		}
		compareJSON(t, b.heading, answer.text, got, answer.shape)
	}

	// The error examples, in the order the page shows them.
	guarded, err := fakesn.NewServer(fakesn.Options{AdminToken: "a-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guarded.Close)
	errorCalls := []struct {
		srv                  *fakesn.Server
		method, target, body string
		status               int
	}{
		{srv: guarded, method: http.MethodGet, target: "/_fakesn/health", status: http.StatusForbidden},
		{srv: srv, method: http.MethodPost, target: "/_fakesn/clock/advance", body: `{"second":1}`, status: http.StatusBadRequest},
		{srv: srv, method: http.MethodGet, target: "/_fakesn/nope", status: http.StatusNotFound},
	}
	if len(errorExamples) != len(errorCalls) {
		t.Fatalf("the page shows %d error answers, the test knows %d", len(errorExamples), len(errorCalls))
	}
	for i, c := range errorCalls {
		code, got := call(c.srv, c.method, c.target, c.body)
		if code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.target, code, c.status)
		}
		compareJSON(t, fmt.Sprintf("error example %d", i+1), errorExamples[i].text, got, false)
	}
}

// compareJSON compares an answer with a documented example: equal, or
// for a shape example, every documented key present with the same kind
// of value (arrays by their first element).
func compareJSON(t *testing.T, where, want string, got []byte, shape bool) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Errorf("%s: the documented answer is not JSON: %v", where, err)
		return
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: the answer is not JSON: %v: %s", where, err, got)
		return
	}
	if !shape {
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s: the answer differs from the documented one (-doc +fake):\n%s", where, diff)
		}
		return
	}
	if problems := sameShape(w, g, ""); len(problems) > 0 {
		t.Errorf("%s: the answer does not have the documented shape:\n%s\nanswer: %.400s", where, strings.Join(problems, "\n"), got)
	}
}

func sameShape(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", path, got)}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s/%s: missing", path, k))
				continue
			}
			out = append(out, sameShape(wv, gv, path+"/"+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", path, got)}
		}
		if len(w) > 0 {
			if len(g) == 0 {
				return []string{path + ": want elements, got an empty array"}
			}
			return sameShape(w[0], g[0], path+"/0")
		}
		return nil
	}
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
		return []string{fmt.Sprintf("%s: want a %T, got %T", path, want, got)}
	}
	return nil
}

var mdLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

// TestDocLinks: the relative links of the README and the docs it indexes
// point at files that exist.
func TestDocLinks(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	for _, doc := range []string{"README.md", "docs/README.md", "docs/reports.md", "docs/control-api.md"} {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(doc), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, target)
			}
		}
		if n == 0 {
			t.Errorf("%s has no relative link: has the pattern broken?", doc)
		}
	}
}
