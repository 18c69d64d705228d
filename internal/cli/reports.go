package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sncheck/sncheck/suites"
	runreport "github.com/sncheck/sncheck/suites/report"
)

// The report files of check and verify (docs/reports.md): --junit for CI
// systems, --json for tools (the run, schema sncheck-run/1,
// docs/report-schema.json) and --html for people (results and the token
// timeline). Each is written whole or not at all: into a temporary file
// beside it, then renamed.

// reportFiles are the paths the report flags name; empty means none.
type reportFiles struct {
	junit, json, html string
}

func (r *reportFiles) register(fs *flag.FlagSet) {
	fs.StringVar(&r.junit, "junit", "", "write a JUnit XML report to this `file` (for CI systems)")
	fs.StringVar(&r.json, "json", "", "write the run as JSON to this `file` (schema sncheck-run/1, docs/report-schema.json)")
	fs.StringVar(&r.html, "html", "", "write a self-contained HTML report, with the token timeline of every check, to this `file`")
}

// reportWriter is one report format.
type reportWriter struct {
	flag, what, path string
	write            func(io.Writer, *suites.Run) error
}

func (r *reportFiles) writers() []reportWriter {
	return []reportWriter{
		{flag: "junit", what: "the JUnit report", path: r.junit, write: runreport.WriteJUnit},
		{flag: "json", what: "the JSON report", path: r.json, write: func(w io.Writer, run *suites.Run) error { return run.WriteJSON(w) }},
		{flag: "html", what: "the HTML report", path: r.html, write: runreport.WriteHTML},
	}
}

// check refuses two reports into one file, and a report whose directory
// does not exist, before the run rather than after it.
func (r *reportFiles) check(cmd string) error {
	seen := map[string]string{}
	for _, w := range r.writers() {
		if w.path == "" {
			continue
		}
		abs, err := filepath.Abs(w.path)
		if err != nil {
			return usageErrorf("sncheck %s: --%s %s: %v", cmd, w.flag, w.path, err)
		}
		if other, dup := seen[abs]; dup {
			return usageErrorf("sncheck %s: --%s and --%s name the same file %s", cmd, other, w.flag, w.path)
		}
		seen[abs] = w.flag
		if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
			return usageErrorf("sncheck %s: --%s %s: the directory %s does not exist", cmd, w.flag, w.path, filepath.Dir(w.path))
		}
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			return usageErrorf("sncheck %s: --%s %s is a directory", cmd, w.flag, w.path)
		}
	}
	return nil
}

// writeReports writes every report asked for and says so on w. It tries
// them all, and returns what went wrong with any.
func (o *runOutput) writeReports(w io.Writer, run *suites.Run) error {
	var errs []error
	for _, rw := range o.reports.writers() {
		if rw.path == "" {
			continue
		}
		if err := writeFileAtomic(rw.path, func(f io.Writer) error { return rw.write(f, run) }); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", rw.flag, err))
			continue
		}
		fmt.Fprintf(w, "wrote %s to %s\n", rw.what, rw.path)
	}
	return errors.Join(errs...)
}

// writeFileAtomic writes path whole or not at all.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	// CreateTemp makes the file 0600; a report is for sharing.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
