package fakesn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// A data directory holds:
//
//	lock            flock'ed while a process uses the directory
//	state.snapshot  the whole state at one point: a header record, then one
//	                record per row (a store.Op)
//	state.wal       the log since that snapshot: a header record, then one
//	                record per committed transaction (a JSON []store.Op)
//
// Both files use store's record framing (length, CRC-32C, JSON). Both
// headers carry a generation: a log applies only to the snapshot of its own
// generation. Compaction writes snapshot N+1 (temp file, fsync, rename,
// fsync the directory), then log N+1 the same way, so a crash between the
// two leaves a stale log N that loading skips, never replays over a state it
// is not about (after Reset, say).
const (
	lockName     = "lock"
	snapshotName = "state.snapshot"
	walName      = "state.wal"
	tmpSuffix    = ".tmp"

	snapshotFormat = "fakesn-snapshot"
	walFormat      = "fakesn-wal"
	dataDirVersion = 1

	// walCompactSize is the log size past which a commit compacts.
	walCompactSize = 64 << 20
)

type snapshotHeader struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	Generation uint64         `json:"generation"`
	Rows       int            `json:"rows"`
	Counters   map[string]int `json:"counters"`
}

type walHeader struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Generation uint64 `json:"generation"`
}

// dataDir is the store's persister for Options.DataDir.
type dataDir struct {
	dir       string
	logger    *slog.Logger
	compactAt int64

	mu     sync.Mutex // guards every field below
	lock   *os.File   // holds the flock
	wal    *os.File
	size   int64  // bytes in wal
	gen    uint64 // generation of the snapshot and log on disk
	buf    []byte
	broken error // set by a failed write: later writes fail too
	closed bool
}

var _ store.Compacter = (*dataDir)(nil)

// openDataDir loads the state kept in dir into st (instead of the seed's
// rows), compacts it, and makes every later commit durable there.
func openDataDir(dir string, st *store.Store, logger *slog.Logger) (io.Closer, error) {
	return openDataDirSize(dir, st, logger, walCompactSize)
}

func openDataDirSize(dir string, st *store.Store, logger *slog.Logger, compactAt int64) (_ io.Closer, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("fakesn: data directory: %w", err)
	}
	lock, err := lockDataDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	d := &dataDir{dir: dir, logger: logger, compactAt: compactAt, lock: lock}
	defer func() {
		if err != nil {
			d.closeLocked()
		}
	}()
	for _, name := range []string{snapshotName, walName} {
		if err := os.Remove(filepath.Join(dir, name+tmpSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fakesn: data directory: %w", err)
		}
	}
	if err := d.load(st); err != nil {
		return nil, err
	}
	var rows []store.Op
	var counters map[string]int
	_ = st.View(func(tx *store.Tx) error {
		rows, counters = tx.Snapshot(), tx.Counters()
		return nil
	})
	d.mu.Lock()
	err = d.compactLocked(rows, counters)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	st.SetPersister(d)
	return d, nil
}

// load replays the snapshot and log into st; with no snapshot st keeps the
// seed. It parses everything before it changes st, so a damaged directory
// loads nothing.
func (d *dataDir) load(st *store.Store) error {
	snapPath := filepath.Join(d.dir, snapshotName)
	walPath := filepath.Join(d.dir, walName)
	snapData, err := os.ReadFile(snapPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, werr := os.Stat(walPath); werr == nil {
			return fmt.Errorf("fakesn: data directory %s: %s without %s; refusing to load", d.dir, walName, snapshotName)
		}
		return nil // a new directory: the seed is the state
	}
	if err != nil {
		return fmt.Errorf("fakesn: data directory: %w", err)
	}
	snap, rows, err := parseSnapshot(snapPath, snapData)
	if err != nil {
		return err
	}
	d.gen = snap.Generation

	var txs [][]store.Op
	var txOffsets []int64
	tornAt, tornWhy := int64(-1), ""
	walData, err := os.ReadFile(walPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("fakesn: data directory: %w", err)
	default:
		recs, torn, why, err := store.ReadRecords(walData)
		if err != nil {
			return fmt.Errorf("fakesn: data directory %s: %w; refusing to load", walPath, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("fakesn: data directory %s: byte offset 0: no header (%s); refusing to load", walPath, why)
		}
		var h walHeader
		if err := json.Unmarshal(recs[0].Payload, &h); err != nil || h.Format != walFormat {
			return fmt.Errorf("fakesn: data directory %s: byte offset 0: not a %s header; refusing to load", walPath, walFormat)
		}
		if h.Version != dataDirVersion {
			return fmt.Errorf("fakesn: data directory %s: byte offset 0: unknown version %d (this fakesn reads %d); refusing to load", walPath, h.Version, dataDirVersion)
		}
		switch {
		case h.Generation > snap.Generation:
			return fmt.Errorf("fakesn: data directory %s: byte offset 0: generation %d is newer than %s's %d; refusing to load", walPath, h.Generation, snapshotName, snap.Generation)
		case h.Generation < snap.Generation:
			// A crash between writing a snapshot and its new log: the
			// snapshot already holds (or replaced) all of this log.
			d.logger.Info("fakesn: skipping a log older than the snapshot", "file", walPath, "generation", h.Generation)
		default:
			for _, r := range recs[1:] {
				var ops []store.Op
				if err := json.Unmarshal(r.Payload, &ops); err != nil {
					return fmt.Errorf("fakesn: data directory %s: byte offset %d: bad transaction: %w; refusing to load", walPath, r.Offset, err)
				}
				txs = append(txs, ops)
				txOffsets = append(txOffsets, r.Offset)
			}
		}
		tornAt, tornWhy = torn, why
	}

	err = st.Update("system", func(tx *store.Tx) error {
		tx.Clear()
		for i, op := range rows {
			if err := tx.Apply(op); err != nil {
				return fmt.Errorf("fakesn: data directory %s: row %d (%s %s): %w; refusing to load", snapPath, i+1, op.Table, op.SysID, err)
			}
		}
		tx.SetCounters(snap.Counters)
		for i, ops := range txs {
			for _, op := range ops {
				if err := tx.Apply(op); err != nil {
					return fmt.Errorf("fakesn: data directory %s: byte offset %d (%s %s): %w; refusing to load", walPath, txOffsets[i], op.Table, op.SysID, err)
				}
			}
		}
		return nil
	})
	if err != nil || tornAt < 0 {
		return err
	}
	// Acknowledgement follows fsync, so no client saw the torn write
	// succeed: dropping it loses nothing that was promised.
	d.logger.Warn("fakesn: dropping a torn record at the end of the log (a write cut short by a crash, never acknowledged)",
		"file", walPath, "offset", tornAt, "bytes", int64(len(walData))-tornAt, "reason", tornWhy)
	if err := os.Truncate(walPath, tornAt); err != nil {
		return fmt.Errorf("fakesn: data directory: truncating the torn tail: %w", err)
	}
	return nil
}

// parseSnapshot checks and decodes a snapshot file. Snapshots are renamed
// into place only once complete, so any bad record is corruption.
func parseSnapshot(path string, data []byte) (*snapshotHeader, []store.Op, error) {
	fail := func(off int64, format string, args ...any) error {
		return fmt.Errorf("fakesn: data directory %s: byte offset %d: %s; refusing to load", path, off, fmt.Sprintf(format, args...))
	}
	recs, torn, why, err := store.ReadRecords(data)
	if err != nil {
		return nil, nil, fmt.Errorf("fakesn: data directory %s: %w; refusing to load", path, err)
	}
	if torn >= 0 {
		return nil, nil, fail(torn, "bad record: %s", why)
	}
	if len(recs) == 0 {
		return nil, nil, fail(0, "empty snapshot")
	}
	var h snapshotHeader
	if err := json.Unmarshal(recs[0].Payload, &h); err != nil || h.Format != snapshotFormat {
		return nil, nil, fail(0, "not a %s header", snapshotFormat)
	}
	if h.Version != dataDirVersion {
		return nil, nil, fail(0, "unknown version %d (this fakesn reads %d)", h.Version, dataDirVersion)
	}
	if h.Rows != len(recs)-1 {
		return nil, nil, fail(int64(len(data)), "header promises %d rows, file holds %d", h.Rows, len(recs)-1)
	}
	rows := make([]store.Op, 0, h.Rows)
	for _, r := range recs[1:] {
		var op store.Op
		if err := json.Unmarshal(r.Payload, &op); err != nil || op.Kind != "put" {
			return nil, nil, fail(r.Offset, "bad row")
		}
		rows = append(rows, op)
	}
	return &h, rows, nil
}

// Append writes one transaction to the log and fsyncs it; the store
// acknowledges the write only after this returns nil.
func (d *dataDir) Append(ops []store.Op) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked(); err != nil {
		return err
	}
	payload, err := json.Marshal(ops)
	if err != nil {
		return fmt.Errorf("fakesn: data directory: %w", err)
	}
	d.buf = store.AppendRecord(d.buf[:0], payload)
	n, err := d.wal.Write(d.buf)
	d.size += int64(n)
	if err == nil {
		err = d.wal.Sync()
	}
	if err != nil {
		// After a failed write or fsync the file's contents are unknown:
		// stop rather than acknowledge anything more.
		d.broken = fmt.Errorf("fakesn: data directory %s: %w", d.dir, err)
		d.logger.Error("fakesn: data directory write failed; refusing further writes", "dir", d.dir, "error", err)
		return d.broken
	}
	if cap(d.buf) > 1<<20 {
		d.buf = nil // do not pin one huge transaction's buffer
	}
	return nil
}

// WantsCompact reports whether the log has outgrown its limit.
func (d *dataDir) WantsCompact() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.size > d.compactAt
}

// Compact makes rows and counters the durable state and empties the log.
func (d *dataDir) Compact(rows []store.Op, counters map[string]int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked(); err != nil {
		return err
	}
	return d.compactLocked(rows, counters)
}

func (d *dataDir) usableLocked() error {
	if d.closed {
		return errors.New("fakesn: data directory closed")
	}
	if d.broken != nil {
		return fmt.Errorf("fakesn: data directory unusable after an earlier failure: %w", d.broken)
	}
	return nil
}

func (d *dataDir) compactLocked(rows []store.Op, counters map[string]int) error {
	gen := d.gen + 1
	snap, err := d.writeSnapshot(gen, rows, counters)
	if err == nil {
		var wal *os.File
		wal, err = d.createLog(gen)
		if err == nil {
			if d.wal != nil {
				_ = d.wal.Close()
			}
			d.wal, d.gen = wal, gen
			d.size, _ = wal.Seek(0, io.SeekCurrent)
		}
	}
	if err != nil {
		// Memory may already hold the state that failed to land (Restore
		// clears before it persists), so later writes cannot be logged
		// against what is on disk.
		d.broken = fmt.Errorf("fakesn: data directory %s: compaction: %w", d.dir, err)
		d.logger.Error("fakesn: data directory compaction failed; refusing further writes", "dir", d.dir, "error", err)
		return d.broken
	}
	d.logger.Debug("fakesn: data directory compacted", "dir", d.dir, "generation", gen, "rows", len(rows), "snapshot_bytes", snap)
	return nil
}

// writeSnapshot writes state.snapshot atomically and returns its size.
func (d *dataDir) writeSnapshot(gen uint64, rows []store.Op, counters map[string]int) (int64, error) {
	if counters == nil {
		counters = map[string]int{}
	}
	head, err := json.Marshal(snapshotHeader{Format: snapshotFormat, Version: dataDirVersion, Generation: gen, Rows: len(rows), Counters: counters})
	if err != nil {
		return 0, err
	}
	f, err := d.createTemp(snapshotName)
	if err != nil {
		return 0, err
	}
	buf := store.AppendRecord(nil, head)
	var size int64
	for i := 0; ; i++ {
		if i == len(rows) || len(buf) >= 1<<20 {
			n, err := f.Write(buf)
			size += int64(n)
			if err != nil {
				return 0, d.abandon(f, err)
			}
			buf = buf[:0]
		}
		if i == len(rows) {
			break
		}
		payload, err := json.Marshal(rows[i])
		if err != nil {
			return 0, d.abandon(f, err)
		}
		buf = store.AppendRecord(buf, payload)
	}
	if err := d.install(f, snapshotName); err != nil {
		return 0, err
	}
	return size, f.Close()
}

// createLog writes a new state.wal holding only its header, atomically,
// and returns it open for appending.
func (d *dataDir) createLog(gen uint64) (*os.File, error) {
	head, err := json.Marshal(walHeader{Format: walFormat, Version: dataDirVersion, Generation: gen})
	if err != nil {
		return nil, err
	}
	f, err := d.createTemp(walName)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(store.AppendRecord(nil, head)); err != nil {
		return nil, d.abandon(f, err)
	}
	if err := d.install(f, walName); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *dataDir) createTemp(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(d.dir, name+tmpSuffix), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

// install fsyncs f (a temp file), renames it over name and fsyncs the
// directory, so name is either wholly old or wholly new after a crash.
func (d *dataDir) install(f *os.File, name string) error {
	if err := f.Sync(); err != nil {
		return d.abandon(f, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(d.dir, name)); err != nil {
		return d.abandon(f, err)
	}
	if err := syncDir(d.dir); err != nil {
		f.Close()
		return err
	}
	return nil
}

// syncDir fsyncs a directory, making renames and creations in it durable.
func syncDir(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return err
	}
	err = dir.Sync()
	return errors.Join(err, dir.Close())
}

// mkdirDurable creates dir and any missing parents (mode 0700), fsyncing
// each new directory's parent so a power cut cannot lose the directory and
// with it every write acknowledged inside.
func mkdirDurable(dir string) error {
	if _, err := os.Stat(dir); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err // exists (a file there fails later, naming it), or unreadable
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func (d *dataDir) abandon(f *os.File, err error) error {
	f.Close()
	_ = os.Remove(f.Name())
	return err
}

// Close syncs and closes the log and releases the directory.
func (d *dataDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closeLocked()
}

func (d *dataDir) closeLocked() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.wal != nil {
		errs = append(errs, d.wal.Sync(), d.wal.Close())
	}
	if d.lock != nil {
		errs = append(errs, d.lock.Close()) // releases the flock
	}
	return errors.Join(errs...)
}
