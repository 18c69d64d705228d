package fakesn

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Seed records the ACL, scope and rate-limit tests use.
const (
	aclAdminID      = "6816f79cc0a8016401c5a33be04be441"
	aclITILID       = "681b365ec0a80164000fb0b05854a0cd"
	aclEmployeeID   = "681ccaf9c0a8016400b98a06818d57c7"
	aclIncInactive  = "9c573169c611228700193229fff72400" // INC0000001, active=false, caller employee
	aclIncActive    = "9d385017c611228701d22104cc95c371" // INC0000002, active=true
	aclScopeRead    = "7abf2adfa6bec1ddde39682c8dacab70" // incident_read
	aclScopeUserAcc = "f1e2d3c4b5a6478899aabbccddeeff01" // useraccount
)

var aclStart = time.Date(2026, 3, 4, 10, 15, 0, 0, time.UTC)

// aclServer builds an unstarted fake on a fake clock.
func aclServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = NewFakeClock(aclStart)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// aclInsert inserts rows into table, returning their sys_ids.
func aclInsert(t *testing.T, s *Server, table string, rows ...map[string]string) []string {
	t.Helper()
	var ids []string
	err := s.store.Update("admin", func(tx *store.Tx) error {
		for _, r := range rows {
			row, err := tx.Insert(table, r)
			if err != nil {
				return err
			}
			ids = append(ids, row.ID())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert %s: %v", table, err)
	}
	return ids
}

// aclPrincipal is the principal a Basic request by userName gets.
func aclPrincipal(t *testing.T, s *Server, userName string) *principal {
	t.Helper()
	var p *principal
	_ = s.store.View(func(tx *store.Tx) error {
		u, ok := tx.Lookup("sys_user", "user_name", userName)
		if !ok {
			t.Fatalf("no user %s", userName)
		}
		p = &principal{UserID: u.ID(), UserName: userName, Roles: userRoles(tx, u.ID()), Auth: "basic"}
		return nil
	})
	return p
}

// aclValues is a record about to be inserted.
type aclValues map[string]string

func (m aclValues) Get(f string) string { return m[f] }

func acl(name, op, roles, cond string, extra ...string) map[string]string {
	r := map[string]string{"name": name, "operation": op, "roles": roles, "condition": cond}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i]] = extra[i+1]
	}
	return r
}

func TestCanAccessRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		acls  []map[string]string
		user  string // "" means no principal
		op    string
		table string
		rec   string    // sys_id of a row of table
		vals  aclValues // for create
		want  bool
	}{
		{name: "no rules allow everything", user: "employee", op: "write", table: "incident", rec: aclIncActive, want: true},
		{name: "no principal", op: "read", table: "incident", rec: aclIncActive, want: false},
		{name: "role present", acls: []map[string]string{acl("incident", "read", "itil", "")},
			user: "itil", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "role missing", acls: []map[string]string{acl("incident", "read", "itil", "")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: false},
		{name: "one of several roles", acls: []map[string]string{acl("incident", "read", "itil_admin, itil", "")},
			user: "itil", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "empty roles mean any authenticated user", acls: []map[string]string{acl("incident", "read", "", "")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "admin overrides by default", acls: []map[string]string{acl("incident", "read", "itil_admin", "active=true")},
			user: "admin", op: "read", table: "incident", rec: aclIncInactive, want: true},
		{name: "admin_overrides false applies the condition to admin",
			acls: []map[string]string{acl("incident", "read", "itil", "active=true", "admin_overrides", "false")},
			user: "admin", op: "read", table: "incident", rec: aclIncInactive, want: false},
		{name: "condition true", acls: []map[string]string{acl("incident", "read", "itil", "active=true")},
			user: "itil", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "condition false", acls: []map[string]string{acl("incident", "read", "itil", "active=true")},
			user: "itil", op: "read", table: "incident", rec: aclIncInactive, want: false},
		{name: "role and condition both needed", acls: []map[string]string{acl("incident", "read", "itil", "active=true")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: false},
		{name: "any rule of the name passes", acls: []map[string]string{
			acl("incident", "read", "itil_admin", ""), acl("incident", "read", "", "active=false")},
			user: "employee", op: "read", table: "incident", rec: aclIncInactive, want: true},
		{name: "dot-walked condition", acls: []map[string]string{acl("incident", "read", "", "caller_id.user_name=employee")},
			user: "employee", op: "read", table: "incident", rec: aclIncInactive, want: true},
		{name: "dot-walked condition false", acls: []map[string]string{acl("incident", "read", "", "caller_id.user_name=employee")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: false},
		{name: "inactive rule ignored", acls: []map[string]string{acl("incident", "read", "itil_admin", "", "active", "false")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "rest_endpoint rule ignored", acls: []map[string]string{acl("incident", "read", "itil_admin", "", "type", "rest_endpoint")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "other operation ignored", acls: []map[string]string{acl("incident", "write", "itil_admin", "")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "parent table rule applies", acls: []map[string]string{acl("task", "read", "itil", "")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: false},
		{name: "table rule beats parent rule", acls: []map[string]string{acl("task", "read", "itil", ""), acl("incident", "read", "", "")},
			user: "employee", op: "read", table: "incident", rec: aclIncActive, want: true},
		{name: "star rule applies last", acls: []map[string]string{acl("*", "delete", "admin", "")},
			user: "itil", op: "delete", table: "incident", rec: aclIncActive, want: false},
		{name: "table rule beats star rule", acls: []map[string]string{acl("*", "delete", "admin", ""), acl("incident", "delete", "itil", "")},
			user: "itil", op: "delete", table: "incident", rec: aclIncActive, want: true},
		{name: "request table decides for a child row", acls: []map[string]string{acl("incident", "read", "itil_admin", "")},
			user: "employee", op: "read", table: "task", rec: aclIncActive, want: true},
		{name: "create evaluates the new values", acls: []map[string]string{acl("incident", "create", "itil", "priority>2")},
			user: "itil", op: "create", table: "incident", vals: aclValues{"priority": "3"}, want: true},
		{name: "create with failing values", acls: []map[string]string{acl("incident", "create", "itil", "priority>2")},
			user: "itil", op: "create", table: "incident", vals: aclValues{"priority": "1"}, want: false},
		{name: "config table closed to non-admin", user: "itil", op: "read", table: "sys_properties", want: false},
		{name: "config table write closed to non-admin", user: "itil", op: "create", table: "sys_security_acl", vals: aclValues{}, want: false},
		{name: "config table open to admin", user: "admin", op: "write", table: "oauth_entity", want: true},
		{name: "config table rules still bind admin without override",
			acls: []map[string]string{acl("sys_properties", "read", "", "name=nothing", "admin_overrides", "false")},
			user: "admin", op: "read", table: "sys_properties", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := aclServer(t, Options{})
			if len(tc.acls) > 0 {
				aclInsert(t, s, "sys_security_acl", tc.acls...)
			}
			var p *principal
			if tc.user != "" {
				p = aclPrincipal(t, s, tc.user)
			}
			var got bool
			_ = s.store.View(func(tx *store.Tx) error {
				var rec interface{ Get(string) string } = tc.vals
				if tc.rec != "" {
					row, err := tx.Get(tc.table, tc.rec)
					if err != nil {
						t.Fatalf("get %s: %v", tc.rec, err)
					}
					rec = row
				}
				if rec == nil {
					rec = aclValues{}
				}
				got = s.canAccessRecord(tx, p, tc.op, tc.table, rec)
				return nil
			})
			if got != tc.want {
				t.Errorf("canAccessRecord(%s, %s, %s) = %v, want %v", tc.user, tc.op, tc.table, got, tc.want)
			}
		})
	}
}

func TestCanReadField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		acls  []map[string]string
		user  string
		table string
		field string
		want  bool
	}{
		{name: "no rules", user: "employee", table: "incident", field: "description", want: true},
		{name: "star field rule", acls: []map[string]string{acl("incident.*", "read", "itil_admin", "")},
			user: "itil", table: "incident", field: "description", want: false},
		{name: "named field beats star", acls: []map[string]string{acl("incident.*", "read", "itil_admin", ""), acl("incident.number", "read", "itil", "")},
			user: "itil", table: "incident", field: "number", want: true},
		{name: "star still covers other fields", acls: []map[string]string{acl("incident.*", "read", "itil_admin", ""), acl("incident.number", "read", "itil", "")},
			user: "itil", table: "incident", field: "short_description", want: false},
		{name: "parent field rule", acls: []map[string]string{acl("task.description", "read", "itil_admin", "")},
			user: "itil", table: "incident", field: "description", want: false},
		{name: "table field beats parent field", acls: []map[string]string{acl("task.description", "read", "itil_admin", ""), acl("incident.description", "read", "itil", "")},
			user: "itil", table: "incident", field: "description", want: true},
		{name: "any table field rule", acls: []map[string]string{acl("*.description", "read", "admin", "")},
			user: "itil", table: "problem", field: "description", want: false},
		{name: "field rule beats table star", acls: []map[string]string{acl("*.description", "read", "itil", ""), acl("incident.*", "read", "admin", "")},
			user: "itil", table: "incident", field: "description", want: true},
		{name: "table-level rule is not a field rule", acls: []map[string]string{acl("incident", "read", "admin", "")},
			user: "itil", table: "incident", field: "description", want: true},
		{name: "write field rule ignored for reads", acls: []map[string]string{acl("incident.description", "write", "admin", "")},
			user: "itil", table: "incident", field: "description", want: true},
		{name: "admin overrides", acls: []map[string]string{acl("incident.description", "read", "itil_admin", "active=true")},
			user: "admin", table: "incident", field: "description", want: true},
		{name: "condition cannot pass without a record", acls: []map[string]string{acl("incident.description", "read", "", "active=true")},
			user: "itil", table: "incident", field: "description", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := aclServer(t, Options{})
			if len(tc.acls) > 0 {
				aclInsert(t, s, "sys_security_acl", tc.acls...)
			}
			p := aclPrincipal(t, s, tc.user)
			var got bool
			_ = s.store.View(func(tx *store.Tx) error {
				got = s.canReadField(tx, p, tc.table, tc.field)
				return nil
			})
			if got != tc.want {
				t.Errorf("canReadField(%s, %s.%s) = %v, want %v", tc.user, tc.table, tc.field, got, tc.want)
			}
		})
	}
}

func TestCanReadRecordFieldCondition(t *testing.T) {
	t.Parallel()
	s := aclServer(t, Options{})
	aclInsert(t, s, "sys_security_acl", acl("incident.description", "read", "", "active=true"))
	p := aclPrincipal(t, s, "itil")
	_ = s.store.View(func(tx *store.Tx) error {
		for id, want := range map[string]bool{aclIncActive: true, aclIncInactive: false} {
			row, _ := tx.Get("incident", id)
			if got := s.canReadRecordField(tx, p, "incident", "description", row); got != want {
				t.Errorf("canReadRecordField(%s) = %v, want %v", row.Get("number"), got, want)
			}
		}
		return nil
	})
}

func TestCanQueryField(t *testing.T) {
	t.Parallel()
	s := aclServer(t, Options{})
	aclInsert(t, s, "sys_security_acl",
		acl("incident.description", "read", "itil_admin", ""),
		acl("sys_user.email", "read", "admin", ""))
	tests := []struct {
		name  string
		user  string
		field string
		want  bool
	}{
		{name: "readable field", user: "itil", field: "number", want: true},
		{name: "unreadable field", user: "itil", field: "description", want: false},
		{name: "unreadable at the end of a dot-walk", user: "itil", field: "caller_id.email", want: false},
		{name: "readable dot-walk", user: "itil", field: "caller_id.user_name", want: true},
		{name: "unknown field is not an ACL matter", user: "itil", field: "u_nope", want: true},
		{name: "admin", user: "admin", field: "caller_id.email", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := aclPrincipal(t, s, tc.user)
			var got bool
			_ = s.store.View(func(tx *store.Tx) error {
				got = s.canQueryField(tx, p, "incident", tc.field)
				return nil
			})
			if got != tc.want {
				t.Errorf("canQueryField(%s, %s) = %v, want %v", tc.user, tc.field, got, tc.want)
			}
		})
	}
}

// TestACLChangesApplyAtOnce shows nothing is cached between calls.
func TestACLChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	s := aclServer(t, Options{})
	p := aclPrincipal(t, s, "itil")
	check := func() bool {
		var ok bool
		_ = s.store.View(func(tx *store.Tx) error {
			row, _ := tx.Get("incident", aclIncActive)
			ok = s.canAccessRecord(tx, p, "read", "incident", row)
			return nil
		})
		return ok
	}
	if !check() {
		t.Fatal("before any rule: denied, want allowed")
	}
	id := aclInsert(t, s, "sys_security_acl", acl("incident", "read", "itil_admin", ""))[0]
	if check() {
		t.Fatal("after adding a rule: allowed, want denied")
	}
	_ = s.store.Update("admin", func(tx *store.Tx) error {
		_, err := tx.Update("sys_security_acl", id, map[string]string{"active": "false"})
		return err
	})
	if !check() {
		t.Fatal("after deactivating the rule: denied, want allowed")
	}
}

// --- over HTTP (needs the Table API handlers) ---

// aclReq is one Table API request.
type aclReq struct {
	method, path string
	user         string // Basic auth as user/user (the seed's passwords)
	pass         string // overrides the password
	bearer       string
	body         string
}

// aclCall sends req and returns the status, headers and body.
func aclCall(t *testing.T, c *http.Client, base string, req aclReq) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, base+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Accept", "application/json")
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	switch {
	case req.bearer != "":
		r.Header.Set("Authorization", "Bearer "+req.bearer)
	case req.user != "":
		pass := req.pass
		if pass == "" {
			pass = req.user
		}
		r.SetBasicAuth(req.user, pass)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// resultNumbers decodes a list body into its records' numbers.
func resultNumbers(t *testing.T, body string) []string {
	t.Helper()
	var v struct {
		Result []map[string]any `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	out := []string{}
	for _, r := range v.Result {
		n, _ := r["number"].(string)
		out = append(out, n)
	}
	return out
}

func resultRecord(t *testing.T, body string) map[string]any {
	t.Helper()
	var v struct {
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v.Result
}

func fakeClockOpts() Options { return Options{Clock: NewFakeClock(aclStart)} }

// TestACLShortPages: rows are dropped after sysparm_limit, so a page in the
// middle can be short while later pages still hold rows, and X-Total-Count
// counts every match (servicenow-spec §5.7).
func TestACLShortPages(t *testing.T) {
	t.Parallel()
	forEachTransport(t, fakeClockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		aclInsert(t, s, "sys_security_acl", acl("incident", "read", "itil", "active=true"))
		const list = "/api/now/table/incident?sysparm_query=ORDERBYnumber&sysparm_fields=number&sysparm_limit=10&sysparm_offset="
		pages := []struct {
			name   string
			user   string
			offset string
			want   []string
		}{
			{name: "full page as admin", user: "admin", offset: "10", want: []string{
				"INC0000011", "INC0000012", "INC0000013", "INC0000014", "INC0000015",
				"INC0000016", "INC0000017", "INC0000018", "INC0000019", "INC0000020"}},
			{name: "short middle page", user: "itil", offset: "10", want: []string{
				"INC0000012", "INC0000015", "INC0000018", "INC0000019", "INC0000020"}},
			{name: "later page still has rows", user: "itil", offset: "20", want: []string{
				"INC0000021", "INC0000024", "INC0000027", "INC0000030"}},
			{name: "no role: empty page, same total", user: "employee", offset: "0", want: []string{}},
		}
		for _, pg := range pages {
			status, h, body := aclCall(t, c, base, aclReq{method: "GET", path: list + pg.offset, user: pg.user})
			if status != http.StatusOK {
				t.Fatalf("%s: status %d %s", pg.name, status, body)
			}
			if diff := cmp.Diff(pg.want, resultNumbers(t, body)); diff != "" {
				t.Errorf("%s: numbers (-want +got):\n%s", pg.name, diff)
			}
			if got := h.Get("X-Total-Count"); got != "65" {
				t.Errorf("%s: X-Total-Count = %q, want 65", pg.name, got)
			}
		}
	})
}

func TestACLRecordAndWriteErrors(t *testing.T) {
	t.Parallel()
	const (
		noRecord = `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`
		insert   = `{"error":{"message":"Operation Failed","detail":"ACL Exception Insert Failed due to security constraints"},"status":"failure"}`
		update   = `{"error":{"message":"Operation Failed","detail":"ACL Exception Update Failed due to security constraints"},"status":"failure"}`
		del      = `{"error":{"message":"Operation Failed","detail":"ACL Exception Delete Failed due to security constraints"},"status":"failure"}`
		queryErr = `{"error":{"message":"Insufficient rights to query records","detail":"Field(s) present in the query do not have permission to be read"},"status":"failure"}`
	)
	forEachTransport(t, fakeClockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		aclInsert(t, s, "sys_security_acl",
			acl("incident", "read", "itil", "active=true"),
			acl("incident", "create", "itil_admin", ""),
			acl("incident", "write", "itil_admin", ""),
			acl("incident", "delete", "itil_admin", ""),
			acl("incident.description", "read", "itil_admin", ""))
		rec := "/api/now/table/incident/"
		tests := []struct {
			name       string
			req        aclReq
			wantStatus int
			wantBody   string // exact, when set
		}{
			{name: "readable record", req: aclReq{method: "GET", path: rec + aclIncActive + "?sysparm_fields=number", user: "itil"},
				wantStatus: 200, wantBody: `{"result":{"number":"INC0000002"}}`},
			{name: "unreadable record is not found", req: aclReq{method: "GET", path: rec + aclIncInactive, user: "itil"},
				wantStatus: 404, wantBody: noRecord},
			{name: "admin reads it", req: aclReq{method: "GET", path: rec + aclIncInactive + "?sysparm_fields=number", user: "admin"},
				wantStatus: 200, wantBody: `{"result":{"number":"INC0000001"}}`},
			{name: "insert denied", req: aclReq{method: "POST", path: "/api/now/table/incident", user: "itil", body: `{"short_description":"acl test"}`},
				wantStatus: 403, wantBody: insert},
			{name: "patch denied", req: aclReq{method: "PATCH", path: rec + aclIncActive, user: "itil", body: `{"short_description":"acl test"}`},
				wantStatus: 403, wantBody: update},
			{name: "put denied", req: aclReq{method: "PUT", path: rec + aclIncActive, user: "itil", body: `{"short_description":"acl test"}`},
				wantStatus: 403, wantBody: update},
			{name: "delete denied", req: aclReq{method: "DELETE", path: rec + aclIncActive, user: "itil"},
				wantStatus: 403, wantBody: del},
			{name: "query on an unreadable field", req: aclReq{method: "GET", path: "/api/now/table/incident?sysparm_query=descriptionLIKEemail", user: "itil"},
				wantStatus: 403, wantBody: queryErr},
			{name: "admin may query it", req: aclReq{method: "GET", path: "/api/now/table/incident?sysparm_query=descriptionLIKEemail&sysparm_fields=number&sysparm_limit=1", user: "admin"},
				wantStatus: 200},
			{name: "admin inserts", req: aclReq{method: "POST", path: "/api/now/table/incident", user: "admin", body: `{"short_description":"acl test"}`},
				wantStatus: 201},
			{name: "config table hidden from non-admin", req: aclReq{method: "GET", path: "/api/now/table/sys_properties", user: "itil"},
				wantStatus: 200, wantBody: `{"result":[]}`},
			{name: "no granting oneself admin", req: aclReq{method: "POST", path: "/api/now/table/sys_user_has_role", user: "itil",
				body: `{"user":"` + aclITILID + `","role":"2831a114c611228501d4ea6c309d626d"}`},
				wantStatus: 403, wantBody: insert},
			{name: "no writing ACLs", req: aclReq{method: "POST", path: "/api/now/table/sys_security_acl", user: "itil",
				body: `{"name":"incident","operation":"read"}`},
				wantStatus: 403, wantBody: insert},
		}
		for _, tc := range tests {
			status, _, body := aclCall(t, c, base, tc.req)
			if status != tc.wantStatus {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, status, tc.wantStatus, body)
				continue
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("%s: body\n got %s\nwant %s", tc.name, body, tc.wantBody)
			}
		}
	})
}

func TestACLFieldOmitted(t *testing.T) {
	t.Parallel()
	forEachTransport(t, fakeClockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		aclInsert(t, s, "sys_security_acl",
			acl("incident.*", "read", "itil_admin", ""),
			acl("incident.number", "read", "itil", ""))
		path := "/api/now/table/incident/" + aclIncActive + "?sysparm_fields=number,short_description"
		for _, tc := range []struct {
			user string
			want map[string]any
		}{
			{user: "itil", want: map[string]any{"number": "INC0000002"}},
			{user: "admin", want: map[string]any{"number": "INC0000002", "short_description": "Network file shares access issue"}},
		} {
			status, _, body := aclCall(t, c, base, aclReq{method: "GET", path: path, user: tc.user})
			if status != 200 {
				t.Fatalf("%s: status %d %s", tc.user, status, body)
			}
			if diff := cmp.Diff(tc.want, resultRecord(t, body)); diff != "" {
				t.Errorf("%s: record (-want +got):\n%s", tc.user, diff)
			}
		}
	})
}

// TestACLTableAPIChangesApplyAtOnce: an admin adds and disables a rule
// through the Table API; the next request of another user sees it.
func TestACLTableAPIChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	forEachTransport(t, fakeClockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		get := aclReq{method: "GET", path: "/api/now/table/incident/" + aclIncActive + "?sysparm_fields=number", user: "itil"}
		if status, _, body := aclCall(t, c, base, get); status != 200 {
			t.Fatalf("before: %d %s", status, body)
		}
		status, _, body := aclCall(t, c, base, aclReq{method: "POST", path: "/api/now/table/sys_security_acl?sysparm_fields=sys_id", user: "admin",
			body: `{"name":"incident","operation":"read","roles":"itil_admin"}`})
		if status != 201 {
			t.Fatalf("create ACL: %d %s", status, body)
		}
		id, _ := resultRecord(t, body)["sys_id"].(string)
		if status, _, body := aclCall(t, c, base, get); status != 404 {
			t.Fatalf("after adding the ACL: %d %s, want 404", status, body)
		}
		if status, _, body := aclCall(t, c, base, aclReq{method: "PATCH", path: "/api/now/table/sys_security_acl/" + id, user: "admin",
			body: `{"active":"false"}`}); status != 200 {
			t.Fatalf("deactivate ACL: %d %s", status, body)
		}
		if status, _, body := aclCall(t, c, base, get); status != 200 {
			t.Fatalf("after deactivating: %d %s, want 200", status, body)
		}
	})
}
