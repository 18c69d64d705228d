package fakesn

import (
	"slices"
	"strconv"
	"testing"

	"github.com/sncheck/sncheck/fakesn/internal/query"
	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// TestSortedPrefixIsTheStableSort checks the bounded-heap shortcut against
// a full stable sort, ties included.
func TestSortedPrefixIsTheStableSort(t *testing.T) {
	t.Parallel()
	s, err := New(pagedOpts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	insertRows(t, s, "u_page", 500, func(i int) map[string]string {
		n := ""
		if i%17 != 0 { // some empty values, which sort first
			n = strconv.Itoa((i * 7919) % 23)
		}
		return map[string]string{"u_name": strconv.Itoa(i % 5), "u_n": n}
	})
	_ = s.store.View(func(tx *store.Tx) error {
		tbl, _ := tx.Table("u_page")
		var rows []rowRecord
		_ = tx.Scan("u_page", func(r *store.Row) bool {
			rows = append(rows, rowRecord{tx: tx, row: r})
			return true
		})
		for _, qs := range []string{"ORDERBYu_n", "ORDERBYDESCu_n", "ORDERBYu_name^ORDERBYDESCu_n", "ORDERBYu_n^ORDERBYsys_id", ""} {
			q := query.Parse(qs, tableSchema{tx: tx, t: tbl}, query.Options{})
			want := slices.Clone(rows)
			query.Sort(q, want)
			for _, n := range []int{0, 1, 2, 10, 99, 124, 125, 126, 300, 500} {
				got := sortedPrefix(q, slices.Clone(rows), n)
				if len(got) != n {
					t.Fatalf("%q n=%d: %d rows", qs, n, len(got))
				}
				for i := range got {
					if got[i].row != want[i].row {
						t.Fatalf("%q n=%d: row %d is %s, want %s", qs, n, i, got[i].row.ID(), want[i].row.ID())
					}
				}
			}
		}
		return nil
	})
}
