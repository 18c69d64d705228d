// Package store holds the fake instance's tables: schema, records, indexes,
// transactions and the write log that makes them durable.
//
// Every value is a string, as on a real instance. A table's rows live with
// the table of their class (incident rows in incident); reading a parent
// table (task) also reads its descendants, like ServiceNow's table-per-class
// hierarchy seen through the Table API.
package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sncheck/sncheck/fixtures"
)

// TimeLayout is how ServiceNow writes glide_date_time values (UTC).
const TimeLayout = "2006-01-02 15:04:05"

// System fields every table has, in the order the instance lists them.
var systemFields = []fixtures.Field{
	{Name: "sys_id", Label: "Sys ID", Type: "GUID", MaxLength: 32},
	{Name: "sys_created_by", Label: "Created by", Type: "string", MaxLength: 40},
	{Name: "sys_created_on", Label: "Created", Type: "glide_date_time"},
	{Name: "sys_mod_count", Label: "Updates", Type: "integer"},
	{Name: "sys_tags", Label: "Tags", Type: "string"},
	{Name: "sys_updated_by", Label: "Updated by", Type: "string", MaxLength: 40},
	{Name: "sys_updated_on", Label: "Updated", Type: "glide_date_time"},
}

// Fields that clients may not set; the store owns them.
var readOnlyFields = map[string]bool{
	"sys_id":         false, // settable on insert, as on the instance
	"sys_created_by": true, "sys_created_on": true, "sys_mod_count": true,
	"sys_updated_by": true, "sys_updated_on": true,
}

// Errors returned by store operations; callers map them to wire errors.
var (
	ErrNoTable  = errors.New("store: no such table")
	ErrNotFound = errors.New("store: record not found")
	ErrExists   = errors.New("store: record already exists")
)

// Field is one column of a table.
type Field struct {
	fixtures.Field
	Index int // position in the owning table's rows
}

// HasChoices reports whether the field carries choice labels.
func (f *Field) HasChoices() bool { return len(f.Choices) > 0 }

// ChoiceLabel returns the label of value, or value itself when it has none.
func (f *Field) ChoiceLabel(value string) string {
	for _, c := range f.Choices {
		if c.Value == value {
			return c.Label
		}
	}
	return value
}

// Table is a table's schema and rows.
type Table struct {
	Name         string
	Label        string
	Extends      string
	Display      string
	NumberPrefix string

	Parent   *Table
	Children []*Table

	Fields   []*Field // own and inherited, system fields first
	fieldIdx map[string]*Field

	rows    []*Row          // insertion order
	byID    map[string]*Row // sys_id -> row
	indexes map[string]map[string]*Row
}

// Field returns the named field.
func (t *Table) Field(name string) (*Field, bool) {
	f, ok := t.fieldIdx[name]
	return f, ok
}

// Is reports whether t is name or extends it.
func (t *Table) Is(name string) bool {
	for c := t; c != nil; c = c.Parent {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Root returns the top of t's hierarchy (task for incident).
func (t *Table) Root() *Table {
	r := t
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// Row is one record of its class table.
type Row struct {
	Table *Table   // the record's class
	vals  []string // indexed by Field.Index of Table
}

// Get returns the value of field name, "" when the field is unknown or empty.
func (r *Row) Get(name string) string {
	if f, ok := r.Table.fieldIdx[name]; ok && f.Index < len(r.vals) {
		return r.vals[f.Index]
	}
	return ""
}

// At returns the value at a field index of r's own table.
func (r *Row) At(i int) string {
	if i < len(r.vals) {
		return r.vals[i]
	}
	return ""
}

// ID returns the record's sys_id.
func (r *Row) ID() string { return r.vals[0] }

// Map returns the record as field name -> value.
func (r *Row) Map() map[string]string {
	m := make(map[string]string, len(r.Table.Fields))
	for _, f := range r.Table.Fields {
		m[f.Name] = r.At(f.Index)
	}
	return m
}

func (r *Row) clone() *Row {
	return &Row{Table: r.Table, vals: append([]string(nil), r.vals...)}
}

// Op is one durable change, as written to the log.
type Op struct {
	Kind   string            `json:"op"` // "put" (insert or full replace) or "delete"
	Table  string            `json:"table"`
	SysID  string            `json:"sys_id"`
	Values map[string]string `json:"values,omitempty"`
}

// Persister makes committed changes durable. Append must return only once
// the ops would survive a crash.
type Persister interface {
	Append(ops []Op) error
}

// Compacter is a Persister that can also replace everything it holds with
// the whole state. The store calls Compact, with its write lock held, when
// a change is not a list of row ops (Reset, a transaction that called
// Clear), and after an Append when WantsCompact reports true.
type Compacter interface {
	Persister
	Compact(rows []Op, counters map[string]int) error
	WantsCompact() bool
}

// Store is the set of tables. All access goes through View or Update.
type Store struct {
	now func() time.Time

	hash func(string) string

	mu        sync.RWMutex // guards tables, counters and persist
	tables    map[string]*Table
	counters  map[string]int // number prefix -> last number issued
	persist   Persister
	indexedBy map[string][]string // table -> unique-lookup fields
}

// Options configure a Store.
type Options struct {
	// Now is the clock for sys_created_on and friends; nil means time.Now.
	Now func() time.Time
	// Indexes lists fields per table that get a value -> row index, for
	// lookups on hot paths (tokens by fingerprint, users by name).
	Indexes map[string][]string
	// HashSecret turns a value written to a password or password2 field
	// into what is stored; it must leave an already stored value unchanged.
	// Nil stores values as given.
	HashSecret func(string) string
}

// IsSecretType reports whether values of a field type are secrets: stored
// hashed, never returned.
func IsSecretType(typ string) bool { return typ == "password" || typ == "password2" }

// New builds a store from a seed. The seed's rows are loaded as they are.
func New(seed *fixtures.Seed, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, indexedBy: opts.Indexes, hash: opts.HashSecret}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.load(seed); err != nil {
		return nil, err
	}
	return s, nil
}

// SetPersister routes every later committed change to p.
func (s *Store) SetPersister(p Persister) {
	s.mu.Lock()
	s.persist = p
	s.mu.Unlock()
}

// Reset replaces all tables and rows with the seed's.
func (s *Store) Reset(seed *fixtures.Seed) error {
	n := &Store{now: s.now, indexedBy: s.indexedBy, hash: s.hash}
	if err := n.load(seed); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.persist.(Compacter); ok {
		// Durable first, so a failed write leaves the old state in place.
		ntx := &Tx{s: n}
		if err := c.Compact(ntx.Snapshot(), ntx.Counters()); err != nil {
			return fmt.Errorf("store: persisting: %w", err)
		}
	}
	s.tables, s.counters = n.tables, n.counters
	return nil
}

func (s *Store) load(seed *fixtures.Seed) error {
	s.tables = map[string]*Table{}
	s.counters = map[string]int{}
	for _, td := range seed.Tables {
		s.tables[td.Name] = &Table{
			Name: td.Name, Label: td.Label, Extends: td.Extends,
			Display: td.Display, NumberPrefix: td.NumberPrefix,
			byID: map[string]*Row{},
		}
	}
	defs := map[string]fixtures.Table{}
	for _, td := range seed.Tables {
		defs[td.Name] = td
		t := s.tables[td.Name]
		if td.Extends != "" {
			p, ok := s.tables[td.Extends]
			if !ok {
				return fmt.Errorf("store: table %s extends unknown table %s", td.Name, td.Extends)
			}
			t.Parent = p
			p.Children = append(p.Children, t)
		}
	}
	for _, t := range s.tables {
		var chain []*Table
		for c := t; c != nil; c = c.Parent {
			chain = append(chain, c)
			if len(chain) > 64 {
				return fmt.Errorf("store: table %s: extends cycle", t.Name)
			}
		}
		t.fieldIdx = map[string]*Field{}
		add := func(fd fixtures.Field) {
			if f, dup := t.fieldIdx[fd.Name]; dup {
				// A table's own definition overrides an inherited one
				// (incident.state has incident's choices, not task's).
				if f.Index >= len(systemFields) {
					f.Field = fd
				}
				return
			}
			f := &Field{Field: fd, Index: len(t.Fields)}
			t.Fields = append(t.Fields, f)
			t.fieldIdx[fd.Name] = f
		}
		for _, fd := range systemFields {
			add(fd)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			for _, fd := range defs[chain[i].Name].Fields {
				add(fd)
			}
		}
		if t.Parent != nil || len(t.Children) > 0 {
			if _, ok := t.fieldIdx["sys_class_name"]; !ok {
				add(fixtures.Field{Name: "sys_class_name", Label: "Class", Type: "sys_class_name"})
			}
		}
		t.indexes = map[string]map[string]*Row{}
		for _, f := range s.indexedBy[t.Name] {
			t.indexes[f] = map[string]*Row{}
		}
	}
	tx := &Tx{s: s, write: true, user: "system", loading: true}
	for _, rows := range seed.Rows {
		for _, rec := range rows.Records {
			if _, err := tx.Insert(rows.Table, rec); err != nil {
				return fmt.Errorf("store: seed %s %s: %w", rows.Table, rec["sys_id"], err)
			}
		}
	}
	return nil
}

// View runs fn with a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&Tx{s: s})
}

// Update runs fn with a read-write transaction acting as user (a user_name,
// written to sys_created_by and sys_updated_by). Changes are made durable
// before Update returns; if fn fails nothing it did is undone, so fn must
// validate before it writes.
func (s *Store) Update(user string, fn func(tx *Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Tx{s: s, write: true, user: user}
	err := fn(tx)
	if s.persist == nil {
		return err
	}
	c, compacts := s.persist.(Compacter)
	var perr error
	switch {
	case tx.cleared && compacts:
		perr = c.Compact(tx.Snapshot(), tx.Counters())
	case len(tx.ops) > 0:
		perr = s.persist.Append(tx.ops)
		if perr == nil && compacts && c.WantsCompact() {
			// The ops are already durable; a failed compaction is the
			// persister's to report and must not fail this write.
			_ = c.Compact(tx.Snapshot(), tx.Counters())
		}
	}
	if perr != nil {
		return errors.Join(err, fmt.Errorf("store: persisting: %w", perr))
	}
	return err
}

// Tx is a transaction. Rows it returns must not be used after it ends.
type Tx struct {
	s       *Store
	write   bool
	loading bool
	cleared bool // Clear was called: persist the whole state, not ops
	user    string
	ops     []Op
	now     time.Time // read once: one transaction is one instant
}

// Now is the store clock's time when the transaction first asked. The clock
// may move while a transaction runs; a token's expiry and the expires_in
// answered with it must not see two different instants.
func (tx *Tx) Now() time.Time {
	if tx.now.IsZero() {
		tx.now = tx.s.now().UTC()
	}
	return tx.now
}

// Table returns a table's schema.
func (tx *Tx) Table(name string) (*Table, bool) {
	t, ok := tx.s.tables[name]
	return t, ok
}

// Tables returns every table name, sorted.
func (tx *Tx) Tables() []string {
	names := make([]string, 0, len(tx.s.tables))
	for n := range tx.s.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get finds a record of table (or of a table extending it) by sys_id.
func (tx *Tx) Get(table, sysID string) (*Row, error) {
	t, ok := tx.s.tables[table]
	if !ok {
		return nil, ErrNoTable
	}
	if r := find(t, sysID); r != nil {
		return r, nil
	}
	return nil, ErrNotFound
}

func find(t *Table, sysID string) *Row {
	if r, ok := t.byID[sysID]; ok {
		return r
	}
	for _, c := range t.Children {
		if r := find(c, sysID); r != nil {
			return r
		}
	}
	return nil
}

// Lookup finds a row of table by an indexed field's value.
func (tx *Tx) Lookup(table, field, value string) (*Row, bool) {
	t, ok := tx.s.tables[table]
	if !ok {
		return nil, false
	}
	if idx, ok := t.indexes[field]; ok {
		r, ok := idx[value]
		return r, ok
	}
	for _, r := range t.rows {
		if r.Get(field) == value {
			return r, true
		}
	}
	return nil, false
}

// Scan calls fn for every row of table and of the tables extending it, in
// insertion order per class, until fn returns false.
func (tx *Tx) Scan(table string, fn func(*Row) bool) error {
	t, ok := tx.s.tables[table]
	if !ok {
		return ErrNoTable
	}
	scan(t, fn)
	return nil
}

func scan(t *Table, fn func(*Row) bool) bool {
	for _, r := range t.rows {
		if !fn(r) {
			return false
		}
	}
	for _, c := range t.Children {
		if !scan(c, fn) {
			return false
		}
	}
	return true
}

// Count returns the number of rows in table and its descendants.
func (tx *Tx) Count(table string) int {
	t, ok := tx.s.tables[table]
	if !ok {
		return 0
	}
	var count func(*Table) int
	count = func(t *Table) int {
		n := len(t.rows)
		for _, c := range t.Children {
			n += count(c)
		}
		return n
	}
	return count(t)
}

// NewSysID returns a random 32-hex sys_id.
func NewSysID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Insert adds a record. Unknown fields are ignored; sys_* fields are set by
// the store (sys_id may be given); fields not given get their default.
func (tx *Tx) Insert(table string, values map[string]string) (*Row, error) {
	if !tx.write {
		return nil, errors.New("store: insert in a read-only transaction")
	}
	t, ok := tx.s.tables[table]
	if !ok {
		return nil, ErrNoTable
	}
	id := values["sys_id"]
	if id == "" {
		id = NewSysID()
	}
	if find(t.Root(), id) != nil {
		return nil, ErrExists
	}
	row := &Row{Table: t, vals: make([]string, len(t.Fields))}
	now := tx.Now().Format(TimeLayout)
	for _, f := range t.Fields {
		v, given := values[f.Name]
		switch {
		case tx.loading && given:
			// Seed rows keep their own system fields.
		case readOnlyFields[f.Name]:
			v = ""
		case !given:
			v = tx.defaultValue(t, f)
		}
		row.vals[f.Index] = tx.stored(f, v)
	}
	row.vals[0] = id
	set := func(name, v string) {
		if f, ok := t.fieldIdx[name]; ok && row.vals[f.Index] == "" {
			row.vals[f.Index] = v
		}
	}
	set("sys_created_on", now)
	set("sys_updated_on", now)
	set("sys_created_by", tx.user)
	set("sys_updated_by", tx.user)
	set("sys_mod_count", "0")
	if t.Parent != nil || len(t.Children) > 0 {
		set("sys_class_name", t.Name)
	}
	if t.NumberPrefix != "" {
		if f, ok := t.fieldIdx["number"]; ok {
			if v := row.vals[f.Index]; v == "" {
				row.vals[f.Index] = tx.nextNumber(t.NumberPrefix)
			} else {
				tx.noteNumber(t.NumberPrefix, v)
			}
		}
	}
	t.rows = append(t.rows, row)
	t.byID[id] = row
	tx.index(row)
	tx.logPut(row)
	return row, nil
}

// stored is what the store keeps for a value written to f.
func (tx *Tx) stored(f *Field, v string) string {
	if tx.s.hash != nil && v != "" && IsSecretType(f.Type) {
		return tx.s.hash(v)
	}
	return v
}

// defaultValue resolves a field's default for a new record.
func (tx *Tx) defaultValue(t *Table, f *Field) string {
	switch f.Default {
	case "javascript:gs.nowDateTime()":
		return tx.Now().Format(TimeLayout)
	case "javascript:gs.getUserID()":
		if r, ok := tx.Lookup("sys_user", "user_name", tx.user); ok {
			return r.ID()
		}
		return ""
	}
	return f.Default
}

// Numbers on a real instance start at 0010001 for records made after the
// demo data (INC0010001).
const firstNumber = 10000

func (tx *Tx) nextNumber(prefix string) string {
	n := tx.s.counters[prefix]
	if n < firstNumber {
		n = firstNumber
	}
	n++
	tx.s.counters[prefix] = n
	return fmt.Sprintf("%s%07d", prefix, n)
}

func (tx *Tx) noteNumber(prefix, number string) {
	if n, err := strconv.Atoi(strings.TrimPrefix(number, prefix)); err == nil && n >= firstNumber && n > tx.s.counters[prefix] {
		tx.s.counters[prefix] = n
	}
}

// Update changes the given fields of a record (a partial update). It bumps
// sys_mod_count and sys_updated_*. Unknown and system fields are ignored.
func (tx *Tx) Update(table, sysID string, values map[string]string) (*Row, error) {
	if !tx.write {
		return nil, errors.New("store: update in a read-only transaction")
	}
	if _, ok := tx.s.tables[table]; !ok {
		return nil, ErrNoTable
	}
	old, err := tx.Get(table, sysID)
	if err != nil {
		return nil, err
	}
	t := old.Table
	row := old.clone()
	for name, v := range values {
		f, ok := t.fieldIdx[name]
		if !ok || name == "sys_id" || readOnlyFields[name] || name == "sys_class_name" {
			continue
		}
		row.vals[f.Index] = tx.stored(f, v)
	}
	mod, _ := strconv.Atoi(row.Get("sys_mod_count"))
	row.vals[t.fieldIdx["sys_mod_count"].Index] = strconv.Itoa(mod + 1)
	row.vals[t.fieldIdx["sys_updated_on"].Index] = tx.Now().Format(TimeLayout)
	row.vals[t.fieldIdx["sys_updated_by"].Index] = tx.user
	tx.unindex(old)
	*old = *row
	tx.index(old)
	tx.logPut(old)
	return old, nil
}

// Delete removes a record.
func (tx *Tx) Delete(table, sysID string) error {
	if !tx.write {
		return errors.New("store: delete in a read-only transaction")
	}
	if _, ok := tx.s.tables[table]; !ok {
		return ErrNoTable
	}
	r, err := tx.Get(table, sysID)
	if err != nil {
		return err
	}
	t := r.Table
	tx.unindex(r)
	delete(t.byID, sysID)
	for i, x := range t.rows {
		if x == r {
			t.rows = append(t.rows[:i], t.rows[i+1:]...)
			break
		}
	}
	tx.log(Op{Kind: "delete", Table: t.Name, SysID: sysID})
	return nil
}

// Apply replays a logged op exactly (used when loading a data directory).
func (tx *Tx) Apply(op Op) error {
	switch op.Kind {
	case "delete":
		err := tx.Delete(op.Table, op.SysID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	case "put":
		t, ok := tx.s.tables[op.Table]
		if !ok {
			return ErrNoTable
		}
		old := find(t.Root(), op.SysID)
		if old != nil && old.Table == t {
			// Replace in place, so replaying an update keeps the row's
			// position (Scan order) as the live update did.
			row := &Row{Table: t, vals: make([]string, len(t.Fields))}
			for _, f := range t.Fields {
				v, given := op.Values[f.Name]
				if !given && !readOnlyFields[f.Name] {
					v = tx.defaultValue(t, f)
				}
				row.vals[f.Index] = tx.stored(f, v)
			}
			row.vals[0] = op.SysID
			if f, ok := t.fieldIdx["number"]; ok && t.NumberPrefix != "" {
				tx.noteNumber(t.NumberPrefix, row.vals[f.Index])
			}
			tx.unindex(old)
			*old = *row
			tx.index(old)
			return nil
		}
		if old != nil {
			if err := tx.Delete(old.Table.Name, op.SysID); err != nil {
				return err
			}
		}
		loading := tx.loading
		tx.loading = true
		defer func() { tx.loading = loading }()
		_, err := tx.Insert(op.Table, op.Values)
		return err
	}
	return fmt.Errorf("store: unknown op %q", op.Kind)
}

func (tx *Tx) log(op Op) {
	if tx.logging() {
		tx.ops = append(tx.ops, op)
	}
}

// logPut logs r's current values. The op copies the whole record, so it is
// built only when a persister will read it.
func (tx *Tx) logPut(r *Row) {
	if tx.logging() {
		tx.ops = append(tx.ops, Op{Kind: "put", Table: r.Table.Name, SysID: r.ID(), Values: r.Map()})
	}
}

// logging reports whether changes are logged: not while loading, and only
// for a persister (Update drops the ops without one).
func (tx *Tx) logging() bool { return !tx.loading && tx.s.persist != nil }

func (tx *Tx) index(r *Row) {
	for f, idx := range r.Table.indexes {
		if v := r.Get(f); v != "" {
			idx[v] = r
		}
	}
}

func (tx *Tx) unindex(r *Row) {
	for f, idx := range r.Table.indexes {
		if v := r.Get(f); v != "" && idx[v] == r {
			delete(idx, v)
		}
	}
}

// Snapshot returns every row of every table as ops that rebuild the state.
func (tx *Tx) Snapshot() []Op {
	var ops []Op
	for _, name := range tx.Tables() {
		for _, r := range tx.s.tables[name].rows {
			ops = append(ops, Op{Kind: "put", Table: name, SysID: r.ID(), Values: r.Map()})
		}
	}
	return ops
}

// Counters returns the number counters (for snapshots).
func (tx *Tx) Counters() map[string]int {
	m := make(map[string]int, len(tx.s.counters))
	for k, v := range tx.s.counters {
		m[k] = v
	}
	return m
}

// SetCounters replaces the number counters (when restoring a snapshot).
func (tx *Tx) SetCounters(m map[string]int) {
	tx.s.counters = map[string]int{}
	for k, v := range m {
		tx.s.counters[k] = v
	}
}

// Clear removes every row of every table and the number counters, keeping
// the schema (before restoring a snapshot).
func (tx *Tx) Clear() {
	tx.cleared = true
	for _, t := range tx.s.tables {
		t.rows = nil
		t.byID = map[string]*Row{}
		for f := range t.indexes {
			t.indexes[f] = map[string]*Row{}
		}
	}
	tx.s.counters = map[string]int{}
}
