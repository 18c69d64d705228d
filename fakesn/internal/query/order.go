package query

import "slices"

type orderTerm struct {
	Order
	kind kind
}

// compareValues orders two stored values of one field type. Empty sorts first,
// like NULL in MySQL ascending order (and so last under ORDERBYDESC).
func compareValues(k kind, a, b string) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	switch k {
	case kindNumber, kindChoice:
		fa, okA := parseNum(a)
		fb, okB := parseNum(b)
		return compareMixed(fa, okA, fb, okB, a, b)
	case kindBoolean:
		a, b = normBool(a), normBool(b)
	case kindDate:
		return compareDate(a, b)
	}
	return compareFold(a, b)
}

// Compare orders a and b by the query's ORDERBY/ORDERBYDESC terms, first key
// first. It returns 0 when the keys tie or there are no order terms, so use
// it with a stable sort (slices.SortStableFunc) to keep the store's order for
// ties. For more than a few records prefer [Sort], which reads each field
// once per record and is several times faster. Reference fields sort by
// their raw sys_id; a real instance sorts them by display value, which
// callers can get by ordering on a dot-walked path.
func (q *Query) Compare(a, b Record) int {
	for _, o := range q.order {
		c := compareValues(o.kind, a.Get(o.Field), b.Get(o.Field))
		if c != 0 {
			if o.Desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// sortKey caches one order field of one record.
type sortKey struct {
	s     string
	n     float64
	isNum bool
}

// Sort stably sorts records by the query's order terms, reading each field
// once per record instead of once per comparison. It does nothing when there
// are no order terms.
func Sort[R Record](q *Query, records []R) {
	width := len(q.order)
	if width == 0 || len(records) < 2 {
		return
	}
	keys := make([]sortKey, len(records)*width)
	for i, r := range records {
		for j, o := range q.order {
			v := r.Get(o.Field)
			if o.kind == kindBoolean && v != "" {
				v = normBool(v)
			}
			k := sortKey{s: v}
			if o.kind == kindNumber || o.kind == kindChoice {
				k.n, k.isNum = parseNum(v)
			}
			keys[i*width+j] = k
		}
	}
	perm := make([]int, len(records))
	for i := range perm {
		perm[i] = i
	}
	// Breaking ties on the original position makes the faster unstable sort
	// stable (slices.SortStableFunc needs O(n log² n) comparisons).
	slices.SortFunc(perm, func(x, y int) int {
		kx, ky := keys[x*width:(x+1)*width], keys[y*width:(y+1)*width]
		for j, o := range q.order {
			c := compareKeys(o.kind, kx[j], ky[j])
			if c != 0 {
				if o.Desc {
					return -c
				}
				return c
			}
		}
		return x - y
	})
	sorted := make([]R, len(records))
	for i, p := range perm {
		sorted[i] = records[p]
	}
	copy(records, sorted)
}

// compareKeys is compareValues over cached keys.
func compareKeys(k kind, a, b sortKey) int {
	switch {
	case a.s == "" && b.s == "":
		return 0
	case a.s == "":
		return -1
	case b.s == "":
		return 1
	case k == kindNumber || k == kindChoice:
		return compareMixed(a.n, a.isNum, b.n, b.isNum, a.s, b.s)
	case k == kindDate:
		return compareDate(a.s, b.s)
	}
	return compareFold(a.s, b.s)
}

// compareMixed puts numbers before other text so that the order stays
// transitive when a numeric column holds stray text ("2" < "10" < "1x").
func compareMixed(fa float64, aIsNum bool, fb float64, bIsNum bool, a, b string) int {
	switch {
	case aIsNum && bIsNum:
		return compareFloat(fa, fb)
	case aIsNum:
		return -1
	case bIsNum:
		return 1
	}
	return compareFold(a, b)
}
