package fakesn

import (
	"strings"

	"github.com/sncheck/sncheck/fakesn/internal/query"
	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Access control (servicenow-spec §5.7), read from sys_security_acl on every
// call: nothing is cached, so an ACL written through the Table API applies
// to the very next request.
//
// Rules follow the instance's evaluation:
//   - Table-level rules are looked up by the most specific name up the
//     table hierarchy (incident, then task, then *), for one operation. The
//     first name with any active rule decides; the caller passes when ANY of
//     its rules passes (one of the rule's roles AND its condition).
//   - Field-level rules: incident.field, task.field, *.field, then incident.*,
//     task.*, *.*; again the first name with rules decides.
//   - admin_overrides (default true) lets the admin role pass a rule.
//   - No rule at all allows the operation. This is the fake's one deliberate
//     departure: a real PDI ships hundreds of default ACLs, ours start
//     empty, so the seed behaves like an admin-friendly PDI where the
//     seeded users see what their roles suggest. Tests add rules to deny.
//
// Built in, as a real instance's ACLs do: the configuration tables below are
// readable and writable only by admin.

// configTables hold the instance's security and OAuth configuration. None
// extends another table, so the request's table is the rows' class.
var configTables = map[string]bool{
	"oauth_entity":            true,
	"oauth_credential":        true,
	"oauth_entity_auth_scope": true,
	"sys_auth_scope":          true,
	"sys_api_access_scope":    true,
	"sys_rate_limit_rules":    true,
	"sys_security_acl":        true,
	"sys_properties":          true,
	"sys_user_has_role":       true,
	"sys_user_role":           true,
}

// canAccessRecord reports whether p may perform op (read, write, create,
// delete) on rec: a stored row, or for create the values about to be
// inserted. table is the table named in the request; its rules, then its
// ancestors', apply even when rec belongs to a child class.
func (s *Server) canAccessRecord(tx *store.Tx, p *principal, op, table string, rec query.Record) bool {
	if p == nil {
		return false
	}
	if !p.IsAdmin() && configTables[table] {
		return false
	}
	if noACLs(tx) {
		return true
	}
	t, _ := tx.Table(table)
	chain := tableChain(t, table)
	rules := aclRules(tx, op, chain)
	for _, name := range chain {
		if rs := rules[name]; len(rs) > 0 {
			return s.anyPasses(tx, p, rs, t, rec)
		}
	}
	return true
}

// canReadField reports whether p may read field of table under field-level
// read rules. Rules with a condition need a record, so here they do not
// pass; canReadRecordField evaluates them against one.
func (s *Server) canReadField(tx *store.Tx, p *principal, table, field string) bool {
	return s.canReadRecordField(tx, p, table, field, nil)
}

// canReadRecordField is canReadField with rec for rules that have a
// condition.
func (s *Server) canReadRecordField(tx *store.Tx, p *principal, table, field string, rec query.Record) bool {
	if p == nil {
		return false
	}
	if noACLs(tx) {
		return true
	}
	t, _ := tx.Table(table)
	chain := tableChain(t, table)
	names := make([]string, 0, 2*len(chain))
	for _, n := range chain {
		names = append(names, n+"."+field)
	}
	for _, n := range chain {
		names = append(names, n+".*")
	}
	rules := aclRules(tx, "read", names)
	for _, name := range names {
		if rs := rules[name]; len(rs) > 0 {
			return s.anyPasses(tx, p, rs, t, rec)
		}
	}
	return true
}

// canQueryField reports whether p may filter on field, which may be
// dot-walked (caller_id.email): every field along the path must be
// readable. A field the schema does not know is not an ACL matter (the
// query drops it) and passes.
func (s *Server) canQueryField(tx *store.Tx, p *principal, table, field string) bool {
	if p == nil {
		return false
	}
	t, ok := tx.Table(table)
	segs := strings.Split(field, ".")
	for i, seg := range segs {
		if !s.canReadField(tx, p, table, seg) {
			return false
		}
		if i == len(segs)-1 || !ok {
			break
		}
		f, found := t.Field(seg)
		if !found || f.Reference == "" {
			break
		}
		if t, ok = tx.Table(f.Reference); !ok {
			break
		}
		table = t.Name
	}
	return true
}

// noACLs reports whether sys_security_acl is empty, as in the default seed:
// then every check passes, and the Table API skips building rule lookups
// per field and per row (a fifth of a 100-record list's time).
func noACLs(tx *store.Tx) bool { return tx.Count("sys_security_acl") == 0 }

// tableChain lists the names whose rules apply to a table, most specific
// first: the table, its ancestors, then *.
func tableChain(t *store.Table, name string) []string {
	if t == nil {
		return []string{name, "*"}
	}
	var chain []string
	for c := t; c != nil && len(chain) < 64; c = c.Parent {
		chain = append(chain, c.Name)
	}
	return append(chain, "*")
}

// aclRules returns the active record rules for op whose name is one of
// names, by name, in one scan of sys_security_acl.
func aclRules(tx *store.Tx, op string, names []string) map[string][]*store.Row {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	rules := map[string][]*store.Row{}
	_ = tx.Scan("sys_security_acl", func(r *store.Row) bool {
		if isFalse(r.Get("active")) || strings.TrimSpace(r.Get("operation")) != op {
			return true
		}
		if typ := r.Get("type"); typ != "" && typ != "record" {
			return true
		}
		if name := strings.TrimSpace(r.Get("name")); want[name] {
			rules[name] = append(rules[name], r)
		}
		return true
	})
	return rules
}

// anyPasses reports whether p passes at least one of rules.
func (s *Server) anyPasses(tx *store.Tx, p *principal, rules []*store.Row, t *store.Table, rec query.Record) bool {
	for _, r := range rules {
		if s.rulePasses(tx, p, r, t, rec) {
			return true
		}
	}
	return false
}

// rulePasses evaluates one rule: admin override, then roles, then the
// condition over the record. Roles use HasRole, for which admin holds every
// role, as gs.hasRole does.
func (s *Server) rulePasses(tx *store.Tx, p *principal, rule *store.Row, t *store.Table, rec query.Record) bool {
	if p.IsAdmin() && !isFalse(rule.Get("admin_overrides")) {
		return true
	}
	if roles := strings.TrimSpace(rule.Get("roles")); roles != "" {
		ok := false
		for _, role := range strings.Split(roles, ",") {
			if role = strings.TrimSpace(role); role != "" && p.HasRole(role) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	cond := strings.TrimSpace(rule.Get("condition"))
	if cond == "" {
		return true
	}
	if rec == nil {
		return false
	}
	q := query.Parse(cond, aclSchema{tx: tx, table: t}, query.Options{Now: s.clock.Now})
	return q.Match(aclRecord{tx: tx, rec: rec, table: t})
}

// isFalse reads a boolean field that defaults to true.
func isFalse(v string) bool {
	v = strings.TrimSpace(v)
	return v == "false" || v == "0"
}

// aclSchema tells the query parser the types of a table's fields, following
// references for dot-walked paths.
type aclSchema struct {
	tx    *store.Tx
	table *store.Table
}

func (sc aclSchema) FieldType(path string) (string, bool) {
	f, ok := walkField(sc.tx, sc.table, path)
	if !ok {
		return "", false
	}
	return f.Type, true
}

// walkField resolves a possibly dot-walked path to its last field.
func walkField(tx *store.Tx, t *store.Table, path string) (*store.Field, bool) {
	if t == nil {
		return nil, false
	}
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		f, ok := t.Field(seg)
		if !ok {
			return nil, false
		}
		if i == len(segs)-1 {
			return f, true
		}
		if f.Reference == "" {
			return nil, false
		}
		if t, ok = tx.Table(f.Reference); !ok {
			return nil, false
		}
	}
	return nil, false
}

// aclRecord lets a condition dot-walk from rec through reference fields.
type aclRecord struct {
	tx    *store.Tx
	rec   query.Record
	table *store.Table
}

func (r aclRecord) Get(path string) string {
	first, rest, dotted := strings.Cut(path, ".")
	if !dotted {
		// A condition must not probe a stored password hash.
		if row, ok := r.rec.(*store.Row); ok && row != nil {
			if f, ok := row.Table.Field(path); ok && store.IsSecretType(f.Type) {
				return ""
			}
		}
		return r.rec.Get(path)
	}
	if v := r.rec.Get(path); v != "" {
		return v // the record resolves dot-walks itself
	}
	if r.table == nil {
		return ""
	}
	f, ok := r.table.Field(first)
	if !ok || f.Reference == "" {
		return ""
	}
	id := r.rec.Get(first)
	if id == "" {
		return ""
	}
	row, err := r.tx.Get(f.Reference, id)
	if err != nil {
		return ""
	}
	return aclRecord{tx: r.tx, rec: row, table: row.Table}.Get(rest)
}
