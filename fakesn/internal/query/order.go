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
		if okA && okB {
			return compareFloat(fa, fb)
		}
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
// ties. Reference fields sort by their raw sys_id; a real instance sorts them
// by display value, which callers can get by ordering on a dot-walked path.
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
	slices.SortStableFunc(perm, func(x, y int) int {
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
		return 0
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
	case a.isNum && b.isNum:
		return compareFloat(a.n, b.n)
	case k == kindDate:
		return compareDate(a.s, b.s)
	}
	return compareFold(a.s, b.s)
}
