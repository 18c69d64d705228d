package integration

import (
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
)

func TestScratchStart(t *testing.T) {
	seed, _ := fixtures.Default()
	start := time.Now()
	for i := 0; i < 20; i++ {
		s, err := fakesn.NewServer(fakesn.Options{Seed: seed, Clock: fakesn.NewFakeClock(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		s.Close()
		if i == 0 { t.Logf("close %v", time.Since(t0)) }
	}
	t.Logf("per fake: %v", time.Since(start)/20)
}
