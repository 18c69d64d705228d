package fakesn

import (
	"errors"
	"io"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Placeholder, replaced by datadir.go.
func openDataDir(dir string, st *store.Store) (io.Closer, error) {
	return nil, errors.New("fakesn: DataDir is not supported yet")
}
