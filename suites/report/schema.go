package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The JSON report is suites.Run written as JSON (schema sncheck-run/1),
// documented by the JSON Schema in docs/report-schema.json. Validate
// checks a document against such a schema with the part of JSON Schema
// (draft 2020-12) that file uses, so the documented schema is tested
// against real reports without a new module.

// SchemaPath is where the report's JSON Schema lives, from the module root.
const SchemaPath = "docs/report-schema.json"

// Validate checks doc against schema and returns every violation, each
// naming its JSON pointer; nil when doc conforms. Supported keywords:
// $ref (to "#/$defs/NAME"), $defs, type, enum, const, properties,
// required, additionalProperties, items, pattern, minimum and format
// "date-time"; annotations (title, description, $comment, $id, $schema)
// are ignored. Any other keyword is an error, so the schema cannot use
// one this validator would silently skip.
func Validate(schema, doc []byte) error {
	var root map[string]any
	if err := decodeJSON(schema, &root); err != nil {
		return fmt.Errorf("report: schema: %w", err)
	}
	var v any
	if err := decodeJSON(doc, &v); err != nil {
		return fmt.Errorf("report: document: %w", err)
	}
	c := &validator{root: root, regexps: map[string]*regexp.Regexp{}}
	c.check(root, v, "")
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: c.errs}
}

// ValidationError lists why a document does not conform.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "report: the document does not match the schema:\n  " + strings.Join(e.Problems, "\n  ")
}

func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

type validator struct {
	root    map[string]any
	regexps map[string]*regexp.Regexp
	errs    []string
}

func (c *validator) fail(ptr, format string, args ...any) {
	if ptr == "" {
		ptr = "/"
	}
	c.errs = append(c.errs, ptr+": "+fmt.Sprintf(format, args...))
}

var annotations = map[string]bool{"title": true, "description": true, "$comment": true, "$id": true, "$schema": true, "$defs": true}

// check validates v at ptr against schema s (a JSON object, or a boolean
// schema).
func (c *validator) check(s any, v any, ptr string) {
	switch s := s.(type) {
	case bool:
		if !s {
			c.fail(ptr, "no value is allowed here")
		}
		return
	case map[string]any:
		c.checkObjectSchema(s, v, ptr)
	default:
		c.fail(ptr, "schema error: a schema must be an object or a boolean")
	}
}

func (c *validator) checkObjectSchema(s map[string]any, v any, ptr string) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "$ref":
			c.checkRef(s[k], v, ptr)
		case "type":
			c.checkType(s[k], v, ptr)
		case "enum":
			list, _ := s[k].([]any)
			ok := false
			for _, e := range list {
				ok = ok || jsonEqual(e, v)
			}
			if !ok {
				c.fail(ptr, "%s is not one of %s", show(v), show(list))
			}
		case "const":
			if !jsonEqual(s[k], v) {
				c.fail(ptr, "%s is not %s", show(v), show(s[k]))
			}
		case "properties", "required", "additionalProperties":
			if k == "properties" {
				c.checkProperties(s, v, ptr)
			}
		case "items":
			if arr, ok := v.([]any); ok {
				for i, e := range arr {
					c.check(s[k], e, fmt.Sprintf("%s/%d", ptr, i))
				}
			}
		case "pattern":
			c.checkPattern(s[k], v, ptr)
		case "minimum":
			if n, ok := v.(json.Number); ok {
				min, _ := s[k].(json.Number)
				if x, y := numberValue(n), numberValue(min); x < y {
					c.fail(ptr, "%s is less than the minimum %s", n, min)
				}
			}
		case "format":
			if s[k] != "date-time" {
				c.fail(ptr, "schema error: unsupported format %v", s[k])
			} else if str, ok := v.(string); ok {
				if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
					c.fail(ptr, "%q is not an RFC 3339 date-time", str)
				}
			}
		default:
			if !annotations[k] {
				c.fail(ptr, "schema error: unsupported keyword %q", k)
			}
		}
	}
	// required and additionalProperties apply even without "properties".
	if _, hasProps := s["properties"]; !hasProps {
		c.checkProperties(s, v, ptr)
	}
}

func (c *validator) checkRef(ref any, v any, ptr string) {
	name, ok := ref.(string)
	if !ok || !strings.HasPrefix(name, "#/$defs/") {
		c.fail(ptr, "schema error: only local $ref to #/$defs/NAME is supported, not %v", ref)
		return
	}
	defs, _ := c.root["$defs"].(map[string]any)
	target, ok := defs[strings.TrimPrefix(name, "#/$defs/")]
	if !ok {
		c.fail(ptr, "schema error: $ref %s names no definition", name)
		return
	}
	c.check(target, v, ptr)
}

func (c *validator) checkType(t any, v any, ptr string) {
	var allowed []string
	switch t := t.(type) {
	case string:
		allowed = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				allowed = append(allowed, s)
			}
		}
	}
	got := typeOf(v)
	for _, a := range allowed {
		if a == got || a == "number" && got == "integer" {
			return
		}
	}
	c.fail(ptr, "%s is a JSON %s, want %s", show(v), got, strings.Join(allowed, " or "))
}

func (c *validator) checkProperties(s map[string]any, v any, ptr string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	props, _ := s["properties"].(map[string]any)
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			name, _ := r.(string)
			if _, present := obj[name]; !present {
				c.fail(ptr, "the required key %q is missing", name)
			}
		}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		child := ptr + "/" + escapePointer(k)
		if ps, ok := props[k]; ok {
			c.check(ps, obj[k], child)
			continue
		}
		if ap, ok := s["additionalProperties"]; ok {
			c.check(ap, obj[k], child)
		}
	}
}

func (c *validator) checkPattern(p any, v any, ptr string) {
	str, ok := v.(string)
	if !ok {
		return
	}
	expr, _ := p.(string)
	re, ok := c.regexps[expr]
	if !ok {
		var err error
		re, err = regexp.Compile(expr)
		if err != nil {
			c.fail(ptr, "schema error: pattern %q: %v", expr, err)
			return
		}
		c.regexps[expr] = re
	}
	if !re.MatchString(str) {
		c.fail(ptr, "%q does not match %s", str, expr)
	}
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if f := numberValue(v); f == math.Trunc(f) && !strings.ContainsAny(v.String(), ".eE") {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func numberValue(n json.Number) float64 {
	f, _ := n.Float64()
	return f
}

// jsonEqual compares two decoded JSON values; numbers by value.
func jsonEqual(a, b any) bool {
	if x, ok := a.(json.Number); ok {
		y, ok := b.(json.Number)
		return ok && numberValue(x) == numberValue(y)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
