package fakesn

import (
	"net/url"
	"strconv"
	"strings"
)

// linkHeader builds the Link header of a list answer with the best-fit rules
// of servicenow-spec §5.5, which reproduce every captured data point:
//
//   - none when everything fits on one page (offset 0 and total <= limit);
//   - rels in the order first, prev, next, last, joined by "," with no spaces;
//   - first = 0; prev = offset-limit, emitted when it is >= -1 (the odd
//     sysparm_offset=-1 seen with limit 1); next = offset+limit, emitted when
//     it is < total; last = floor((total-1)/limit)*limit;
//   - each URL is the request's own URL with sysparm_offset replaced in
//     place, or appended when absent; other parameters keep their order and
//     their encoding.
//
// base is scheme://host and path the request's escaped path. It returns ""
// when no header is due.
func linkHeader(base, path, rawQuery string, limit, offset, total int) string {
	if limit <= 0 || (offset == 0 && total <= limit) {
		return ""
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	var b strings.Builder
	add := func(off int, rel string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('<')
		b.WriteString(base)
		b.WriteString(path)
		b.WriteByte('?')
		b.WriteString(withOffset(rawQuery, off))
		b.WriteString(`>;rel="`)
		b.WriteString(rel)
		b.WriteByte('"')
	}
	add(0, "first")
	if prev := offset - limit; prev >= -1 {
		add(prev, "prev")
	}
	if next := offset + limit; next < total {
		add(next, "next")
	}
	add(last, "last")
	return b.String()
}

// withOffset returns rawQuery with its first sysparm_offset set to off (later
// repeats dropped), or with sysparm_offset appended when it has none.
func withOffset(rawQuery string, off int) string {
	param := "sysparm_offset=" + strconv.Itoa(off)
	var parts []string
	found := false
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(k); err == nil && name == "sysparm_offset" {
			if !found {
				parts = append(parts, param)
				found = true
			}
			continue
		}
		parts = append(parts, pair)
	}
	if !found {
		parts = append(parts, param)
	}
	return strings.Join(parts, "&")
}
