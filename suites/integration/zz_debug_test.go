package integration

import (
	"context"
	"net/http"
	"testing"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
)

func TestZZDebug(t *testing.T) {
	for i := 0; i < 3; i++ {
	env := &Env{Grant: "password", Start: reference.Starter(snclient.Config{})}
	ctx := context.Background()
	if err := env.prepare(ctx, instanceSpec{}); err != nil { t.Fatal(err) }
	integ, _ := connected(ctx, env)
	env.Controller().AddFault(ctx, fakesn.Fault{Method: http.MethodGet, API: "table", Table: probeTable, Status: 503, Times: 2})
	mark, _ := env.Mark(ctx)
	err := probe(ctx, integ)
	es, _ := env.Since(ctx, mark)
	for j, e := range es { g := "" ; if j > 0 { g = ms(gap(es[j-1], e)) }; t.Logf("%s %d dur=%v gap=%s", e.WallTime.Format("05.000"), e.Status, e.Duration, g) }
	t.Log(err)
	env.close()
	}
}
