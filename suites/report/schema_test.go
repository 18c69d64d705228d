package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/suites"
)

func readSchema(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), SchemaPath))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSampleRunValidates writes a run with every field in use and checks
// it against docs/report-schema.json.
func TestSampleRunValidates(t *testing.T) {
	t.Parallel()
	run := sampleRun(t)
	run.LabelFilter, run.Checks, run.Requests, run.Interrupted = "refresh", []string{"REFRESH-ON-EXPIRY"}, 12, true
	run.Errors = []string{"cleanup failed"}
	run.Results[0].Location = "/src/x.go:1"
	run.Results[0].Observations = []suites.Observation{{
		Name: "list", Method: "GET", Path: "/api/now/table/incident", Query: "sysparm_limit=1", Status: 200,
		Headers: map[string]string{"Link": "<{host}/api/now/table/incident>;rel=\"first\""}, Body: "json",
		Shape: json.RawMessage(`{"result":[{"number":"<string>"}]}`),
	}}
	var buf bytes.Buffer
	if err := run.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := Validate(readSchema(t), buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestValidateCatches breaks a valid report one way at a time.
func TestValidateCatches(t *testing.T) {
	t.Parallel()
	schema := readSchema(t)
	var buf bytes.Buffer
	if err := sampleRun(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		break_ func(doc map[string]any)
		want   string
	}{
		{name: "wrong schema", break_: func(d map[string]any) { d["schema"] = "sncheck-run/2" }, want: `/schema: "sncheck-run/2" is not "sncheck-run/1"`},
		{name: "missing results", break_: func(d map[string]any) { delete(d, "results") }, want: `/: the required key "results" is missing`},
		{name: "bad time", break_: func(d map[string]any) { d["started"] = "yesterday" }, want: `/started: "yesterday" is not an RFC 3339 date-time`},
		{name: "unknown suite", break_: func(d map[string]any) { d["suite"] = "other" }, want: `/suite: "other" is not one of`},
		{name: "count as string", break_: func(d map[string]any) { d["summary"].(map[string]any)["passed"] = "2" }, want: `/summary/passed: "2" is a JSON string, want integer`},
		{name: "fractional count", break_: func(d map[string]any) { d["requests"] = 1.5 }, want: `/requests: 1.5 is a JSON number, want integer`},
		{name: "negative duration", break_: func(d map[string]any) { result(d, 0)["duration_seconds"] = -1 }, want: `/results/0/duration_seconds: -1 is less than the minimum 0`},
		{name: "bad check id", break_: func(d map[string]any) { result(d, 1)["id"] = "lower-case" }, want: `/results/1/id: "lower-case" does not match`},
		{name: "bad state", break_: func(d map[string]any) { result(d, 0)["state"] = "flaky" }, want: `/results/0/state: "flaky" is not one of`},
		{name: "raw token in the timeline", break_: func(d map[string]any) {
			event(d, 0)["token"] = strings.Repeat("A", 86)
		}, want: `/token: "AAAA`},
		{name: "unknown event kind", break_: func(d map[string]any) { event(d, 0)["kind"] = "teleport" }, want: `/kind: "teleport" is not one of`},
		{name: "header not a string", break_: func(d map[string]any) {
			result(d, 0)["observations"] = []any{map[string]any{"name": "x", "method": "GET", "path": "/", "status": 200, "body": "json", "headers": map[string]any{"Link": 1}}}
		}, want: `/results/0/observations/0/headers/Link: 1 is a JSON integer, want string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			tt.break_(doc)
			data, _ := json.Marshal(doc)
			err := Validate(schema, data)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a ValidationError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v\nwant a problem containing %q", err, tt.want)
			}
		})
	}
}

func result(doc map[string]any, i int) map[string]any {
	return doc["results"].([]any)[i].(map[string]any)
}

// event returns the first timeline event of the first result with one.
func event(doc map[string]any, i int) map[string]any {
	for _, r := range doc["results"].([]any) {
		if tl, ok := r.(map[string]any)["timeline"].([]any); ok && len(tl) > i {
			return tl[i].(map[string]any)
		}
	}
	panic("no timeline")
}

func TestValidateRefusesWhatItCannotCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, doc, want string
	}{
		{name: "unknown keyword", schema: `{"type":"string","maxLength":3}`, doc: `"abcd"`, want: `unsupported keyword "maxLength"`},
		{name: "remote ref", schema: `{"$ref":"https://example.com/s.json"}`, doc: `1`, want: "only local $ref"},
		{name: "unknown format", schema: `{"format":"email"}`, doc: `"a@b"`, want: "unsupported format"},
		{name: "false schema", schema: `{"properties":{"a":false}}`, doc: `{"a":1}`, want: "/a: no value is allowed here"},
		{name: "additional properties", schema: `{"additionalProperties":{"type":"integer"}}`, doc: `{"a":"x"}`, want: `/a: "x" is a JSON string, want integer`},
		{name: "trailing data", schema: `{}`, doc: `{} {}`, want: "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Validate([]byte(tt.schema), []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSchemaCoversTheGoTypes keeps docs/report-schema.json in step with
// suites.Run: every JSON key of the Go types is a property of the schema
// (required unless omitempty), and every property is a key.
func TestSchemaCoversTheGoTypes(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	if err := json.Unmarshal(readSchema(t), &schema); err != nil {
		t.Fatal(err)
	}
	defs := schema["$defs"].(map[string]any)
	tests := []struct {
		name   string
		typ    reflect.Type
		schema map[string]any
	}{
		{name: "Run", typ: reflect.TypeFor[suites.Run](), schema: schema},
		{name: "TargetInfo", typ: reflect.TypeFor[suites.TargetInfo](), schema: defs["target"].(map[string]any)},
		{name: "Summary", typ: reflect.TypeFor[suites.Summary](), schema: defs["summary"].(map[string]any)},
		{name: "Result", typ: reflect.TypeFor[suites.Result](), schema: defs["result"].(map[string]any)},
		{name: "Observation", typ: reflect.TypeFor[suites.Observation](), schema: defs["observation"].(map[string]any)},
		{name: "TimelineEvent", typ: reflect.TypeFor[suites.TimelineEvent](), schema: defs["timeline_event"].(map[string]any)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			props := tt.schema["properties"].(map[string]any)
			var required []string
			for _, r := range tt.schema["required"].([]any) {
				required = append(required, r.(string))
			}
			keys := map[string]bool{}
			for f := range tt.typ.Fields() {
				tag := f.Tag.Get("json")
				name, opts, _ := strings.Cut(tag, ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				keys[name] = true
				if _, ok := props[name]; !ok {
					t.Errorf("%s.%s (%q) is not in the schema", tt.name, f.Name, name)
				}
				optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
				if !optional && !slices.Contains(required, name) {
					t.Errorf("%s.%s (%q) is always written but not required by the schema", tt.name, f.Name, name)
				}
				if optional && slices.Contains(required, name) {
					t.Errorf("%s.%s (%q) may be left out but the schema requires it", tt.name, f.Name, name)
				}
			}
			for p := range props {
				if !keys[p] {
					t.Errorf("the schema's %s property %q is no field of %s", tt.name, p, tt.typ)
				}
			}
		})
	}
}
