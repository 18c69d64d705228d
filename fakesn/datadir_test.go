package fakesn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// logBuffer collects a fake's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var dataDirEpoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// openDir builds a fake on dir, failing the test on error.
func openDir(t testing.TB, dir string, logs *logBuffer) *Server {
	t.Helper()
	s, err := openDirErr(dir, logs)
	if err != nil {
		t.Fatalf("New(DataDir %s): %v", dir, err)
	}
	t.Cleanup(s.Close)
	return s
}

func openDirErr(dir string, logs *logBuffer) (*Server, error) {
	if logs == nil {
		logs = &logBuffer{}
	}
	return New(Options{DataDir: dir, Clock: NewFakeClock(dataDirEpoch), Logger: logs.logger()})
}

// dump is a store's whole state: rows in scan order and counters.
type dump struct {
	Rows     []store.Op
	Counters map[string]int
}

func dumpState(t testing.TB, s *Server) dump {
	t.Helper()
	var d dump
	_ = s.store.View(func(tx *store.Tx) error {
		d.Rows, d.Counters = tx.Snapshot(), tx.Counters()
		return nil
	})
	return d
}

func insert(t testing.TB, s *Server, table string, values map[string]string) map[string]string {
	t.Helper()
	var got map[string]string
	err := s.store.Update("admin", func(tx *store.Tx) error {
		r, err := tx.Insert(table, values)
		if err == nil {
			got = r.Map()
		}
		return err
	})
	if err != nil {
		t.Fatalf("insert %s: %v", table, err)
	}
	return got
}

func update(t testing.TB, s *Server, table, id string, values map[string]string) map[string]string {
	t.Helper()
	var got map[string]string
	err := s.store.Update("admin", func(tx *store.Tx) error {
		r, err := tx.Update(table, id, values)
		if err == nil {
			got = r.Map()
		}
		return err
	})
	if err != nil {
		t.Fatalf("update %s %s: %v", table, id, err)
	}
	return got
}

func remove(t testing.TB, s *Server, table, id string) {
	t.Helper()
	if err := s.store.Update("admin", func(tx *store.Tx) error { return tx.Delete(table, id) }); err != nil {
		t.Fatalf("delete %s %s: %v", table, id, err)
	}
}

func get(t testing.TB, s *Server, table, id string) (map[string]string, bool) {
	t.Helper()
	var got map[string]string
	_ = s.store.View(func(tx *store.Tx) error {
		if r, err := tx.Get(table, id); err == nil {
			got = r.Map()
		}
		return nil
	})
	return got, got != nil
}

// populated returns a closed data directory holding the seed plus three
// logged transactions (one incident inserted, then updated twice), and the
// incident's sys_id.
func populated(t *testing.T) (dir, id string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	s := openDir(t, dir, nil)
	id = insert(t, s, "incident", map[string]string{"short_description": "first"})["sys_id"]
	update(t, s, "incident", id, map[string]string{"short_description": "second"})
	update(t, s, "incident", id, map[string]string{"short_description": "third"})
	s.Close()
	return dir, id
}

// walRecords returns the log's records (the header first).
func walRecords(t *testing.T, dir string) ([]byte, []store.Record) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, walName))
	if err != nil {
		t.Fatal(err)
	}
	recs, torn, why, err := store.ReadRecords(data)
	if err != nil || torn >= 0 {
		t.Fatalf("ReadRecords(%s) = torn %d (%s), %v; want a clean log", walName, torn, why, err)
	}
	return data, recs
}

func TestDataDirRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s := openDir(t, dir, nil)
	a := insert(t, s, "incident", map[string]string{"short_description": "printer on fire", "urgency": "1"})
	b := insert(t, s, "incident", map[string]string{"short_description": "second"})
	update(t, s, "incident", a["sys_id"], map[string]string{"state": "2"})
	update(t, s, "incident", a["sys_id"], map[string]string{"short_description": "printer still on fire"})
	remove(t, s, "incident", b["sys_id"])
	// An update to a seed row keeps its place in scan order after replay.
	var seedUser string
	_ = s.store.View(func(tx *store.Tx) error {
		_ = tx.Scan("sys_user", func(r *store.Row) bool { seedUser = r.ID(); return false })
		return nil
	})
	update(t, s, "sys_user", seedUser, map[string]string{"title": "Chief Printer Officer"})
	// Two writes in one transaction land together.
	if err := s.store.Update("itil", func(tx *store.Tx) error {
		if _, err := tx.Insert("problem", map[string]string{"short_description": "printers burn"}); err != nil {
			return err
		}
		_, err := tx.Update("incident", a["sys_id"], map[string]string{"impact": "1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := dumpState(t, s)
	s.Close()

	s = openDir(t, dir, nil)
	got := dumpState(t, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("state after reopen (-before +after):\n%s", diff)
	}
	inc, _ := get(t, s, "incident", a["sys_id"])
	for field, v := range map[string]string{"sys_mod_count": "3", "state": "2", "impact": "1", "short_description": "printer still on fire", "number": "INC0010001"} {
		if inc[field] != v {
			t.Errorf("after reopen %s = %q, want %q", field, inc[field], v)
		}
	}
	if _, ok := get(t, s, "incident", b["sys_id"]); ok {
		t.Errorf("deleted incident %s is back after reopen", b["sys_id"])
	}
	// The reopened (compacted) directory round-trips again.
	s.Close()
	s = openDir(t, dir, nil)
	if diff := cmp.Diff(want, dumpState(t, s)); diff != "" {
		t.Fatalf("state after a second reopen (-before +after):\n%s", diff)
	}
}

func TestDataDirCounters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// deleteLast deletes the newest incident, so only the counter (not
		// a row) remembers its number.
		deleteLast bool
		// compact reopens once more before the check, so the counter comes
		// from the snapshot instead of the log.
		compact bool
	}{
		{name: "from the log"},
		{name: "from the snapshot", compact: true},
		{name: "deleted newest, from the log", deleteLast: true},
		{name: "deleted newest, from the snapshot", deleteLast: true, compact: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := openDir(t, dir, nil)
			if n := insert(t, s, "incident", nil)["number"]; n != "INC0010001" {
				t.Fatalf("first number = %s, want INC0010001", n)
			}
			second := insert(t, s, "incident", nil)
			if tc.deleteLast {
				remove(t, s, "incident", second["sys_id"])
			}
			s.Close()
			if tc.compact {
				openDir(t, dir, nil).Close()
			}
			s = openDir(t, dir, nil)
			if n := insert(t, s, "incident", nil)["number"]; n != "INC0010003" {
				t.Fatalf("number after reopen = %s, want INC0010003 (INC0010001 and INC0010002 were issued)", n)
			}
		})
	}
}

func TestDataDirTornTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// damage changes the log, given its bytes and the last record's
		// offset, and returns the offset the warning must name.
		damage func(data []byte, last int64) ([]byte, int64)
	}{
		{name: "cut mid-record", damage: func(d []byte, last int64) ([]byte, int64) {
			return d[:last+(int64(len(d))-last)/2], last
		}},
		{name: "cut before the newline", damage: func(d []byte, last int64) ([]byte, int64) { return d[:len(d)-1], last }},
		{name: "cut in the length", damage: func(d []byte, last int64) ([]byte, int64) { return d[:last+1], last }},
		{name: "flipped byte in the last record", damage: func(d []byte, last int64) ([]byte, int64) {
			d[len(d)-5] ^= 1
			return d, last
		}},
		{name: "zeros after the last record", damage: func(d []byte, _ int64) ([]byte, int64) {
			return append(d, make([]byte, 4096)...), int64(len(d))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, id := populated(t)
			data, recs := walRecords(t, dir)
			if len(recs) != 4 {
				t.Fatalf("log holds %d records, want a header and 3 transactions", len(recs))
			}
			damaged, at := tc.damage(bytes.Clone(data), recs[3].Offset)
			wal := filepath.Join(dir, walName)
			if err := os.WriteFile(wal, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			wantTail := map[bool]string{true: "second", false: "third"}[at == recs[3].Offset]
			logs := &logBuffer{}
			s := openDir(t, dir, logs)
			inc, ok := get(t, s, "incident", id)
			if !ok || inc["short_description"] != wantTail {
				t.Fatalf("after a torn tail short_description = %q (found %v), want %q: every record before the tear", inc["short_description"], ok, wantTail)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "offset="+strconv.FormatInt(at, 10)) ||
				!strings.Contains(logs.String(), "file="+wal) {
				t.Errorf("log = %s\nwant a warning naming %s and offset %d", logs, wal, at)
			}
		})
	}
}

// reframe rewrites record i of a data file through edit.
func reframe(t *testing.T, path string, i int, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _, err := store.ReadRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for j, r := range recs {
		p := r.Payload
		if j == i {
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if p, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		out = store.AppendRecord(out, p)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDataDirCorruption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// want are substrings of New's error.
		want []string
	}{
		{name: "flipped byte in a middle log record", damage: func(t *testing.T, dir string) {
			data, recs := walRecords(t, dir)
			data[recs[2].Offset+20] ^= 1
			_ = os.WriteFile(filepath.Join(dir, walName), data, 0o600)
		}, want: []string{walName, "corrupt record at byte offset", "valid records follow"}},
		{name: "middle log record cut short", damage: func(t *testing.T, dir string) {
			data, recs := walRecords(t, dir)
			cut := append(bytes.Clone(data[:recs[2].Offset+30]), data[recs[3].Offset:]...)
			_ = os.WriteFile(filepath.Join(dir, walName), cut, 0o600)
		}, want: []string{walName, "corrupt record at byte offset"}},
		{name: "flipped byte in the snapshot", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, snapshotName)
			data, _ := os.ReadFile(path)
			data[len(data)/2] ^= 1
			_ = os.WriteFile(path, data, 0o600)
		}, want: []string{snapshotName, "byte offset"}},
		{name: "flipped byte in the snapshot's last row", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, snapshotName)
			data, _ := os.ReadFile(path)
			data[len(data)-4] ^= 1
			_ = os.WriteFile(path, data, 0o600)
		}, want: []string{snapshotName, "byte offset", "bad record"}},
		{name: "truncated snapshot", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, snapshotName)
			data, _ := os.ReadFile(path)
			recs, _, _, _ := store.ReadRecords(data)
			_ = os.WriteFile(path, data[:recs[len(recs)-1].Offset], 0o600)
		}, want: []string{snapshotName, "header promises"}},
		{name: "empty snapshot", damage: func(t *testing.T, dir string) {
			_ = os.WriteFile(filepath.Join(dir, snapshotName), nil, 0o600)
		}, want: []string{snapshotName, "byte offset 0", "empty snapshot"}},
		{name: "unknown snapshot version", damage: func(t *testing.T, dir string) {
			reframe(t, filepath.Join(dir, snapshotName), 0, func(m map[string]any) { m["version"] = 99 })
		}, want: []string{snapshotName, "byte offset 0", "unknown version 99"}},
		{name: "unknown log version", damage: func(t *testing.T, dir string) {
			reframe(t, filepath.Join(dir, walName), 0, func(m map[string]any) { m["version"] = 2 })
		}, want: []string{walName, "byte offset 0", "unknown version 2"}},
		{name: "log newer than the snapshot", damage: func(t *testing.T, dir string) {
			reframe(t, filepath.Join(dir, walName), 0, func(m map[string]any) { m["generation"] = 7 })
		}, want: []string{walName, "generation 7 is newer"}},
		{name: "not a log", damage: func(t *testing.T, dir string) {
			reframe(t, filepath.Join(dir, walName), 0, func(m map[string]any) { m["format"] = "something-else" })
		}, want: []string{walName, "not a fakesn-wal header"}},
		{name: "log without a snapshot", damage: func(t *testing.T, dir string) {
			_ = os.Remove(filepath.Join(dir, snapshotName))
		}, want: []string{walName + " without " + snapshotName}},
		{name: "snapshot row of an unknown table", damage: func(t *testing.T, dir string) {
			reframe(t, filepath.Join(dir, snapshotName), 1, func(m map[string]any) { m["table"] = "u_gone" })
		}, want: []string{snapshotName, "row 1 (u_gone", "no such table"}},
		{name: "log op on an unknown table", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, walName)
			data, _ := os.ReadFile(path)
			bad := store.AppendRecord(data, []byte(`[{"op":"put","table":"u_gone","sys_id":"x","values":{}}]`))
			_ = os.WriteFile(path, bad, 0o600)
		}, want: []string{walName, "(u_gone x)", "no such table"}},
		{name: "log transaction that is not JSON", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, walName)
			data, _ := os.ReadFile(path)
			_ = os.WriteFile(path, store.AppendRecord(data, []byte(`{nope`)), 0o600)
		}, want: []string{walName, "bad transaction"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := populated(t)
			tc.damage(t, dir)
			before := dirFiles(t, dir)
			s, err := openDirErr(dir, nil)
			if err == nil {
				s.Close()
				t.Fatalf("New on a damaged data directory succeeded; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error = %q, want it to contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "fakesn: ") {
				t.Errorf("New error = %q, want the fakesn: prefix", err)
			}
			// Nothing was rewritten: the damage stays for a person to see.
			if diff := cmp.Diff(before, dirFiles(t, dir)); diff != "" {
				t.Errorf("a failed open changed the directory (-before +after):\n%s", diff)
			}
			// And the lock was released.
			s, err = openDirErr(dir, nil)
			if err == nil {
				s.Close()
			} else if strings.Contains(err.Error(), "in use") {
				t.Errorf("after a failed open the directory is still locked: %v", err)
			}
		})
	}
}

// dirFiles maps each data file in dir to its contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, name := range []string{snapshotName, walName} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			m[name] = string(b)
		}
	}
	return m
}

// A crash between writing a new snapshot and its new log leaves the old
// log behind; loading must skip it, not replay it over the new state.
func TestDataDirStaleLog(t *testing.T) {
	t.Parallel()
	dir, id := populated(t)
	stale, err := os.ReadFile(filepath.Join(dir, walName))
	if err != nil {
		t.Fatal(err)
	}
	s := openDir(t, dir, nil)
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, walName), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	s = openDir(t, dir, logs)
	if _, ok := get(t, s, "incident", id); ok {
		t.Fatalf("incident %s, written before Reset, came back from a stale log", id)
	}
	if !strings.Contains(logs.String(), "skipping a log older than the snapshot") {
		t.Errorf("log = %s\nwant a note about the skipped stale log", logs)
	}
}

func TestDataDirResetRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, nil)
	seedState := dumpState(t, s)
	kept := insert(t, s, "incident", map[string]string{"short_description": "kept"})
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dropped := insert(t, s, "incident", map[string]string{"short_description": "dropped by restore"})
	update(t, s, "incident", kept["sys_id"], map[string]string{"short_description": "changed, then restored"})
	if err := s.Restore(ctx, snap); err != nil {
		t.Fatal(err)
	}
	restored := dumpState(t, s)
	s.Close()

	s = openDir(t, dir, nil)
	if diff := cmp.Diff(restored, dumpState(t, s)); diff != "" {
		t.Fatalf("restored state after reopen (-before +after):\n%s", diff)
	}
	if _, ok := get(t, s, "incident", dropped["sys_id"]); ok {
		t.Errorf("incident inserted after the snapshot survived Restore and reopen")
	}
	if got, _ := get(t, s, "incident", kept["sys_id"]); got["short_description"] != "kept" {
		t.Errorf("restored incident short_description = %q, want %q", got["short_description"], "kept")
	}
	// The restored counters: INC0010002 was issued after the snapshot, so
	// the instance issues it again, as a restored instance would.
	if n := insert(t, s, "incident", nil)["number"]; n != "INC0010002" {
		t.Errorf("number after restore and reopen = %s, want INC0010002", n)
	}

	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDir(t, dir, nil)
	// Reset hashes the seed's secrets afresh (new salts): compare them as
	// "a hash".
	if diff := cmp.Diff(maskHashes(seedState), maskHashes(dumpState(t, s))); diff != "" {
		t.Fatalf("state after Reset and reopen is not the seed (-seed +after):\n%s", diff)
	}
}

func maskHashes(d dump) dump {
	for _, op := range d.Rows {
		for k, v := range op.Values {
			if strings.HasPrefix(v, hashedPrefix) {
				op.Values[k] = hashedPrefix + "…"
			}
		}
	}
	return d
}

func TestDataDirLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir, nil)
	_, err := openDirErr(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "is in use by another process") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second New on a data directory in use: error = %v, want one saying %s is in use", err, dir)
	}
	s.Close()
	openDir(t, dir, nil).Close()
}

func TestDataDirPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "data")
	s := openDir(t, dir, nil)
	insert(t, s, "incident", nil)
	s.Close()
	_ = filepath.WalkDir(filepath.Dir(dir), func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", path, got, want)
		}
		return nil
	})
}

func TestDataDirCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(Options{Clock: NewFakeClock(dataDirEpoch)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openDataDirSize(dir, s.store, nil, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	s.wal = c
	t.Cleanup(s.Close)
	var ids []string
	for i := range 40 {
		ids = append(ids, insert(t, s, "incident", map[string]string{"short_description": strings.Repeat("x", i)})["sys_id"])
	}
	info, err := os.Stat(filepath.Join(dir, walName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 32<<10 {
		t.Errorf("log is %d bytes after 40 inserts with a 16 KiB limit; want it compacted", info.Size())
	}
	d := c.(*dataDir)
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	if gen < 3 {
		t.Errorf("generation = %d after writing 40 records past a 16 KiB limit, want at least 3 (open + compactions)", gen)
	}
	want := dumpState(t, s)
	s.Close()
	s = openDir(t, dir, nil)
	if diff := cmp.Diff(want, dumpState(t, s)); diff != "" {
		t.Fatalf("state after compactions and reopen (-before +after):\n%s", diff)
	}
}

func TestDataDirClosedRefusesWrites(t *testing.T) {
	t.Parallel()
	s := openDir(t, t.TempDir(), nil)
	s.Close()
	err := s.store.Update("admin", func(tx *store.Tx) error {
		_, err := tx.Insert("incident", nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "data directory closed") {
		t.Fatalf("write after Close: error = %v, want data directory closed", err)
	}
}

// No secret reaches the disk: passwords and client secrets are stored
// hashed, tokens only as SHA-256 keys.
func TestDataDirNoSecrets(t *testing.T) {
	t.Parallel()
	const (
		password    = "pw-CANARY-7f3a91"
		newPassword = "pw2-CANARY-c0ffee"
		secret      = "secret-CANARY-91bd"
	)
	dir := t.TempDir()
	opts := Options{
		DataDir: dir, Clock: NewFakeClock(dataDirEpoch),
		Users: []User{{UserName: "canary.user", Password: password, Roles: []string{"itil"}}},
		Apps:  []App{{Name: "canary", ClientID: "canary-client", ClientSecret: secret, RedirectURLs: []string{"http://localhost/cb"}}},
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var tokens []string
	err = s.store.Update("system", func(tx *store.Tx) error {
		app, ok := appByClientID(tx, "canary-client")
		if !ok {
			t.Fatal("no canary app")
		}
		user, _ := tx.Lookup("sys_user", "user_name", "canary.user")
		for _, kind := range []string{kindRefresh, kindAccess} {
			tok, _, err := issueCredential(tx, credSpec{Kind: kind, AppID: app.ID, UserID: user.ID(), Life: time.Hour, GrantType: "password"})
			if err != nil {
				return err
			}
			tokens = append(tokens, tok)
		}
		// A password changed through the store, as the Table API would.
		_, err := tx.Update("sys_user", user.ID(), map[string]string{"user_password": newPassword})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Some traffic with every secret in play; whatever routes exist now.
	c := &http.Client{Transport: s.Transport()}
	for _, req := range []func() *http.Request{
		func() *http.Request {
			r, _ := http.NewRequest("GET", "http://instance.test/api/now/table/incident", nil)
			r.SetBasicAuth("canary.user", newPassword)
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest("POST", "http://instance.test/api/now/table/incident", strings.NewReader(`{"short_description":"hi"}`))
			r.Header.Set("Authorization", "Bearer "+tokens[1])
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest("POST", "http://instance.test/oauth_token.do", strings.NewReader(
				"grant_type=password&client_id=canary-client&client_secret="+secret+"&username=canary.user&password="+newPassword))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest("POST", "http://instance.test/oauth_token.do", strings.NewReader(
				"grant_type=refresh_token&client_id=canary-client&client_secret="+secret+"&refresh_token="+tokens[0]))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
	} {
		r := req()
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s %s: %d", r.Method, r.URL.Path, resp.StatusCode)
		// Tokens the token endpoint issued are canaries too.
		var tok struct{ AccessToken, RefreshToken string }
		if json.Unmarshal(body, &tok) == nil {
			for _, v := range []string{tok.AccessToken, tok.RefreshToken} {
				if v != "" {
					tokens = append(tokens, v)
				}
			}
		}
	}
	if err := s.Reset(context.Background()); err != nil { // a snapshot of the seed, too
		t.Fatal(err)
	}
	s.Close()
	// Reopen to compact, then look at both the compacted and earlier files.
	openDir(t, dir, nil).Close()
	canaries := append([]string{password, newPassword, secret}, tokens...)
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		for _, c := range canaries {
			if bytes.Contains(data, []byte(c)) {
				t.Errorf("%s holds a secret (%d bytes, starting %q)", path, len(c), c[:4])
			}
		}
		return nil
	})
}

// benchmarkStoreUpdate measures one committed insert per op.
func benchmarkStoreUpdate(b *testing.B, dataDir string) {
	s, err := New(Options{DataDir: dataDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	values := map[string]string{"short_description": "benchmark", "urgency": "2"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.store.Update("admin", func(tx *store.Tx) error {
			_, err := tx.Insert("incident", values)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreUpdateMemory(b *testing.B)  { benchmarkStoreUpdate(b, "") }
func BenchmarkStoreUpdateDataDir(b *testing.B) { benchmarkStoreUpdate(b, b.TempDir()) }
