package fakesn

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestTableReferenceAndDisplayShapes(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		user := func(id string) string { return `"` + base + `/api/now/table/sys_user/` + id + `"` }
		global := `"` + base + `/api/now/table/sys_user_group/global"`
		emp := `"` + employeeID + `"`
		fields := "number,state,priority,active,caller_id,parent,sys_domain,sys_class_name,opened_at,work_notes"
		for _, tc := range []struct {
			name, params, want string
		}{
			{"default: reference object with link", "",
				`{"number":"INC0000001","state":"7","priority":"1","active":"false","caller_id":{"link":` + user(employeeID) + `,"value":` + emp + `},"parent":"","sys_domain":{"link":` + global + `,"value":"global"},"sys_class_name":"incident","opened_at":"2025-01-08 14:57:57","work_notes":""}`},
			{"display false explicit", "&sysparm_display_value=false",
				`{"number":"INC0000001","state":"7","priority":"1","active":"false","caller_id":{"link":` + user(employeeID) + `,"value":` + emp + `},"parent":"","sys_domain":{"link":` + global + `,"value":"global"},"sys_class_name":"incident","opened_at":"2025-01-08 14:57:57","work_notes":""}`},
			{"exclude_reference_link: plain sys_id", "&sysparm_exclude_reference_link=true",
				`{"number":"INC0000001","state":"7","priority":"1","active":"false","caller_id":` + emp + `,"parent":"","sys_domain":"global","sys_class_name":"incident","opened_at":"2025-01-08 14:57:57","work_notes":""}`},
			{"display true", "&sysparm_display_value=true",
				`{"number":"INC0000001","state":"Closed","priority":"1 - Critical","active":"false","caller_id":{"display_value":"Joe Employee","link":` + user(employeeID) + `},"parent":"","sys_domain":{"display_value":"global","link":` + global + `},"sys_class_name":"Incident","opened_at":"2025-01-08 14:57:57","work_notes":""}`},
			{"display true, exclude links", "&sysparm_display_value=true&sysparm_exclude_reference_link=true",
				`{"number":"INC0000001","state":"Closed","priority":"1 - Critical","active":"false","caller_id":"Joe Employee","parent":"","sys_domain":"global","sys_class_name":"Incident","opened_at":"2025-01-08 14:57:57","work_notes":""}`},
			{"display all", "&sysparm_display_value=all",
				`{"number":{"display_value":"INC0000001","value":"INC0000001"},"state":{"display_value":"Closed","value":"7"},"priority":{"display_value":"1 - Critical","value":"1"},"active":{"display_value":"false","value":"false"},"caller_id":{"display_value":"Joe Employee","link":` + user(employeeID) + `,"value":` + emp + `},"parent":{"display_value":"","value":""},"sys_domain":{"display_value":"global","link":` + global + `,"value":"global"},"sys_class_name":{"display_value":"Incident","value":"incident"},"opened_at":{"display_value":"2025-01-08 14:57:57","value":"2025-01-08 14:57:57"},"work_notes":{"display_value":"","value":""}}`},
			{"display all, exclude links", "&sysparm_display_value=all&sysparm_exclude_reference_link=true",
				`{"number":{"display_value":"INC0000001","value":"INC0000001"},"state":{"display_value":"Closed","value":"7"},"priority":{"display_value":"1 - Critical","value":"1"},"active":{"display_value":"false","value":"false"},"caller_id":{"display_value":"Joe Employee","value":` + emp + `},"parent":{"display_value":"","value":""},"sys_domain":{"display_value":"global","value":"global"},"sys_class_name":{"display_value":"Incident","value":"incident"},"opened_at":{"display_value":"2025-01-08 14:57:57","value":"2025-01-08 14:57:57"},"work_notes":{"display_value":"","value":""}}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/api/now/table/incident/" + inc1ID + "?", "/api/now/table/incident?sysparm_query=number=INC0000001&"} {
					w := send(t, c, "GET", base+path+"sysparm_fields="+fields+tc.params, "")
					wantStatus(t, w, 200)
					want := `{"result":` + tc.want + `}`
					if strings.Contains(path, "sysparm_query") {
						want = `{"result":[` + tc.want + `]}`
					}
					if w.body != want {
						t.Errorf("%s:\n got %s\nwant %s", path, w.body, want)
					}
				}
			})
		}
	})
}

func TestTableDisplayValues(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "POST", base+"/api/now/table/incident?sysparm_exclude_reference_link=true",
			`{"reassignment_count":"12345","assignment_group":"`+serviceDeskID+`","caller_id":"00000000000000000000000000000000","made_sla":"true"}`)
		wantStatus(t, w, 201)
		id := decode[oneResult](t, w.body).Result["sys_id"].(string)
		w = send(t, c, "GET", base+"/api/now/table/incident/"+id+
			"?sysparm_display_value=true&sysparm_exclude_reference_link=true&sysparm_fields=reassignment_count,assignment_group,caller_id,made_sla,state,caller_id.name,assignment_group.manager", "")
		want := `{"result":{"reassignment_count":"12,345","assignment_group":"Service Desk","caller_id":"","made_sla":"true","state":"New","caller_id.name":"","assignment_group.manager":"Beth Anglin"}}`
		if w.body != want {
			t.Errorf("display values:\n got %s\nwant %s", w.body, want)
		}
		// A display field that is itself a reference shows through: a user's
		// role is shown by the role's name.
		w = send(t, c, "GET", base+"/api/now/table/sys_user_has_role?sysparm_query=user="+adminID+"&sysparm_display_value=all&sysparm_fields=role,user", "")
		want = `{"result":[{"role":{"display_value":"admin","link":"` + base + `/api/now/table/sys_user_role/2831a114c611228501d4ea6c309d626d","value":"2831a114c611228501d4ea6c309d626d"},"user":{"display_value":"System Administrator","link":"` + base + `/api/now/table/sys_user/` + adminID + `","value":"` + adminID + `"}}]}`
		if w.body != want {
			t.Errorf("sys_user_has_role:\n got %s\nwant %s", w.body, want)
		}
	})
}

func TestGroupThousands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"0", "0"}, {"999", "999"}, {"1000", "1,000"}, {"12345", "12,345"},
		{"1234567", "1,234,567"}, {"-1234", "-1,234"}, {"-12", "-12"}, {"12.5", "12.5"}, {"1e10", "1e10"}, {"abcd", "abcd"},
	} {
		if got := groupThousands(tc.in); got != tc.want {
			t.Errorf("groupThousands(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", `quo"te`, `back\slash`, "new\nline\r\t", "\x00\x01\b\f\x1f\x7f", "<html>&amp;",
		"héllo wörld", "emoji 😀", "bad \xff utf8 \xc3", "line\u2028sep\u2029", "日本語",
	} {
		got := string(appendJSONString(nil, s))
		want, err := marshalJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: %s does not decode: %v", s, got, err)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := marshalJSON(s)
		if err != nil {
			t.Skipf("encoding/json refuses %q (%v): nothing to compare with", s, err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
