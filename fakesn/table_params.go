package fakesn

import (
	"net/url"
	"strconv"
	"strings"
)

// displayMode is sysparm_display_value.
type displayMode int

const (
	displayFalse displayMode = iota // stored values (the default)
	displayTrue                     // display values
	displayAll                      // {"display_value","value"} objects
)

// Table API parameter defaults (servicenow-spec §5.3).
const defaultTableLimit = 10000

// tableParams are the Table API's sysparm_* parameters and name-value
// filters, parsed leniently like a real instance: names are case-sensitive,
// an empty value means the default, booleans are "true" in any case (anything
// else is false), and a number that does not parse means the default.
type tableParams struct {
	Query      string
	Filters    []nameValue // field=value pairs, in request order
	Fields     []string    // sysparm_fields as given (trimmed, no empties)
	HasFields  bool        // sysparm_fields named at least one field
	Display    displayMode
	ExcludeRef bool // sysparm_exclude_reference_link
	InputDV    bool // sysparm_input_display_value
	Limit      int  // sysparm_limit; <= 0 or garbage means 10000
	Offset     int  // sysparm_offset; negative or garbage means 0
	NoCount    bool // sysparm_no_count
	NoLink     bool // sysparm_suppress_pagination_header
	View       string
	NoDomain   bool // sysparm_query_no_domain (no domains are modelled)

	// Unknown lists sysparm_* names the Table API does not document; they
	// are ignored, as on an instance, and reported as unexpected.
	Unknown []string
}

// nameValue is one name-value filter (?active=true).
type nameValue struct{ Name, Value string }

// parseBool is how the instance reads a boolean parameter.
func parseBool(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

// parseTableParams reads the query string. Only the first value of a
// repeated parameter counts.
func parseTableParams(q url.Values, order []string) tableParams {
	p := tableParams{Limit: defaultTableLimit}
	for _, name := range order {
		vs, ok := q[name]
		if !ok || len(vs) == 0 {
			continue
		}
		v := vs[0]
		switch name {
		case "sysparm_query":
			p.Query = v
		case "sysparm_fields":
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					p.Fields = append(p.Fields, f)
				}
			}
			p.HasFields = len(p.Fields) > 0
		case "sysparm_display_value":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				p.Display = displayTrue
			case "all":
				p.Display = displayAll
			}
		case "sysparm_exclude_reference_link":
			p.ExcludeRef = parseBool(v)
		case "sysparm_input_display_value":
			p.InputDV = parseBool(v)
		case "sysparm_limit":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				p.Limit = n
			}
		case "sysparm_offset":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				p.Offset = n
			}
		case "sysparm_no_count":
			p.NoCount = parseBool(v)
		case "sysparm_suppress_pagination_header":
			p.NoLink = parseBool(v)
		case "sysparm_view":
			p.View = strings.TrimSpace(v)
		case "sysparm_query_no_domain":
			p.NoDomain = parseBool(v)
		case "sysparm_query_category":
			// Accepted; it only picks a read replica on an instance.
		case "access_token":
			// Authentication (auth.go), not a filter.
		default:
			if strings.HasPrefix(name, "sysparm_") {
				p.Unknown = append(p.Unknown, name)
				continue
			}
			p.Filters = append(p.Filters, nameValue{Name: name, Value: v})
		}
	}
	return p
}

// queryOrder returns the distinct parameter names of a raw query string in
// the order they first appear, so name-value filters keep request order.
func queryOrder(raw string) []string {
	var names []string
	seen := map[string]bool{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return names
}
