package fakesn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sncheck/sncheck/fakesn/internal/query"
	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// The Table API (servicenow-spec §5): /api/now/table/{table}[/{sys_id}],
// also under /api/now/v1/table and /api/now/v2/table.
//
// A request goes through, in order: authentication (401), the session
// cookies, the method (405), the Accept header (406), the REST API auth scope
// of an OAuth token (403), the rate limit (429), then for writes the body
// (415, 413, 400), then the operation itself.
//
// Choices made where the instance's behaviour is not captured (LOW):
//   - 405 is {"message":"Method not Supported","detail":"<METHOD> method not
//     supported for API"}; 406 and 415 carry similar instance-style wording.
//   - A body over glide.rest.max_content_length MB (default 10, clamped to
//     1..25) is a 413 with the instance's "Rejected large REST payload" text.
//   - An empty write body is an empty record ({}); a JSON array uses its
//     first element; object or array field values are ignored (and reported
//     as unexpected).
//   - A missing Content-Type on a write is read as JSON; a missing Accept,
//     */* and application/json (or any +json type) get JSON; XML is not
//     produced or read (406/415, reported as unexpected).
//   - X-no-response-body keeps the status (201/200) and sends no body.
//   - v1's 404 for an empty list is decided on the page actually returned,
//     after ACL filtering.
//   - Password fields written without sysparm_input_display_value=true are
//     not saved, as the docs say of encrypted fields (a PDI leaves such a
//     user unable to log in); they always read back as "".
//   - PUT and PATCH that change nothing write nothing (sys_mod_count and
//     sys_updated_on stay), as GlideRecord.update does.
//   - A POST whose sys_id exists is a 403 "Operation Failed" / "Error during
//     insert of <table> (<display value>)".

func (s *Server) handleTableCollection(w http.ResponseWriter, r *http.Request) {
	s.serveTable(w, r, false)
}

func (s *Server) handleTableRecord(w http.ResponseWriter, r *http.Request) {
	s.serveTable(w, r, true)
}

// tableRequest carries one Table API request through its steps.
type tableRequest struct {
	s      *Server
	r      *http.Request
	p      *principal
	table  string
	sysID  string
	v1     bool
	params tableParams
	base   string // scheme://host the client called, for links
}

// tableAnswer is what an operation decided, written after the store's lock
// is released.
type tableAnswer struct {
	status int
	body   []byte // nil: no body
	header http.Header
	err    *Error
	pooled bool // body came from bodyPool and goes back once written
}

// bodyPool recycles list bodies: a page of records is hundreds of
// kilobytes, and a fresh one per request was much of the GC's work.
var bodyPool sync.Pool // of *[]byte

// maxPooledBody keeps a rare huge page from being held by the pool.
const maxPooledBody = 4 << 20

// release returns a pooled body once it has been written.
func (a *tableAnswer) release() {
	if a.pooled && cap(a.body) <= maxPooledBody {
		b := a.body[:0]
		bodyPool.Put(&b)
	}
	a.body, a.pooled = nil, false
}

func failed(e *Error) *tableAnswer { return &tableAnswer{err: e} }

// Errors of the Table API, in the instance's words (servicenow-spec §5.6).
func errQueryDenied() *Error {
	return &Error{Code: CodeQueryDenied, Message: "Insufficient rights to query records",
		Detail: "Field(s) present in the query do not have permission to be read"}
}

// errACL is a write an ACL refused; op is Insert, Update or Delete.
func errACL(op string) *Error {
	return &Error{Code: CodeOperationFailed, Message: "Operation Failed",
		Detail: "ACL Exception " + op + " Failed due to security constraints"}
}

func errMethodNotSupported(method string) *Error {
	return &Error{Code: CodeMethodNotAllowed, Message: "Method not Supported",
		Detail: method + " method not supported for API"}
}

func errNotAcceptable() *Error {
	return &Error{Code: CodeNotAcceptable, Message: "Requested response content type is not supported",
		Detail: "Supported response formats: application/json"}
}

func errUnsupportedMedia(ct string) *Error {
	return &Error{Code: CodeUnsupportedMedia, Message: "Requested request content type is not supported",
		Detail: "Content-Type " + ct + " is not supported; supported request formats: application/json"}
}

func errMalformedJSON() *Error {
	return &Error{Code: CodeBadRequest, Message: "Exception while reading request", Detail: "The payload is not valid JSON."}
}

// errPayloadTooLarge uses the instance's wording (KB0747638).
func errPayloadTooLarge(size, max int64) *Error {
	return &Error{Code: CodeTooLarge, Message: "Exception while reading request",
		Detail: fmt.Sprintf("Rejected large REST payload with content-length = %d bytes. Max allowed: %d bytes.", size, max)}
}

// maxContentLength reads glide.rest.max_content_length (MB): 10 by default,
// 1 at least and 25 at most, as on an instance.
func maxContentLength(tx *store.Tx) int64 {
	mb, err := strconv.Atoi(property(tx, "glide.rest.max_content_length", "10"))
	if err != nil {
		mb = 10
	}
	mb = min(max(mb, 1), 25)
	return int64(mb) << 20
}

// requestBase is the scheme and host the client called, for Location and
// reference links.
func requestBase(r *http.Request) string {
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, isRecord bool) {
	tr := &tableRequest{
		s: s, r: r, table: r.PathValue("table"), sysID: r.PathValue("sys_id"),
		v1:   strings.HasPrefix(r.URL.Path, "/api/now/v1/"),
		base: requestBase(r),
	}
	entry := &infoFrom(r).Entry
	entry.Table, entry.SysID = tr.table, tr.sysID

	var (
		fail    *Error
		maxBody int64
	)
	_ = s.store.View(func(tx *store.Tx) error {
		p, err := s.authenticate(tx, r)
		if err != nil {
			fail = err
			clearSessionCookies(w, r)
			return nil
		}
		tr.p = p
		s.establishSession(w, r, p)
		if !methodAllowed(r.Method, isRecord) {
			fail = errMethodNotSupported(r.Method)
			return nil
		}
		if r.Method != http.MethodDelete && !s.acceptsJSON(r) {
			fail = errNotAcceptable()
			return nil
		}
		if fail = s.checkAPIScope(tx, p, "now/table", r.Method, tr.table); fail != nil {
			return nil
		}
		if fail = s.checkRateLimit(w, tx, p, "now/table", r.Method, tr.table); fail != nil {
			return nil
		}
		maxBody = maxContentLength(tx)
		return nil
	})
	if fail != nil {
		writeError(w, fail)
		return
	}

	tr.params = parseTableParams(r.URL.Query(), queryOrder(r.URL.RawQuery))
	for _, name := range tr.params.Unknown {
		s.noteUnexpected(r, "unknown Table API parameter "+name+" ignored")
	}

	var ans *tableAnswer
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		_ = s.store.View(func(tx *store.Tx) error {
			if isRecord {
				ans = tr.getOne(tx)
			} else {
				ans = tr.list(tx)
			}
			return nil
		})
	case http.MethodDelete:
		ans = tr.write(func(tx *store.Tx) *tableAnswer { return tr.remove(tx) })
	default: // POST, PUT, PATCH
		values, err := s.readRecordBody(r, maxBody)
		if err != nil {
			writeError(w, err)
			return
		}
		if r.Method == http.MethodPost {
			ans = tr.write(func(tx *store.Tx) *tableAnswer { return tr.create(tx, values) })
		} else {
			ans = tr.write(func(tx *store.Tx) *tableAnswer { return tr.update(tx, values) })
		}
	}
	tr.answer(w, ans)
	ans.release()
}

// write runs op in a write transaction acting as the caller, so that
// sys_created_by and sys_updated_by name them.
func (tr *tableRequest) write(op func(tx *store.Tx) *tableAnswer) *tableAnswer {
	var ans *tableAnswer
	err := tr.s.store.Update(tr.p.UserName, func(tx *store.Tx) error {
		ans = op(tx)
		return nil
	})
	if err != nil {
		return failed(errInternal(err))
	}
	return ans
}

func (tr *tableRequest) answer(w http.ResponseWriter, a *tableAnswer) {
	if a.err != nil {
		writeError(w, a.err)
		return
	}
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	switch {
	case a.body == nil:
		setCommonHeaders(h)
		w.WriteHeader(a.status)
	case tr.r.Method == http.MethodHead:
		setCommonHeaders(h)
		h.Set("Content-Type", contentTypeJSON)
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
	default:
		writeRaw(w, a.status, contentTypeJSON, a.body)
	}
}

func methodAllowed(method string, isRecord bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return !isRecord
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return isRecord
	}
	return false
}

// acceptsJSON reports whether the Accept header admits JSON: missing, */*,
// application/*, application/json or any +json type.
func (s *Server) acceptsJSON(r *http.Request) bool {
	accept := strings.TrimSpace(strings.Join(r.Header.Values("Accept"), ","))
	if accept == "" {
		return true
	}
	xml := false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f <= 0 {
				continue
			}
		}
		switch {
		case mt == "*/*", mt == "application/*", isJSONType(mt):
			return true
		case isXMLType(mt):
			xml = true
		}
	}
	if xml {
		s.noteUnexpected(r, "XML responses are not modelled")
	}
	return false
}

func isJSONType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func isXMLType(mt string) bool {
	return mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
}

// readRecordBody reads a write's JSON body into field values. One record per
// request: an array yields its first element.
func (s *Server) readRecordBody(r *http.Request, limit int64) (map[string]string, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !isJSONType(mt) {
			if err == nil && isXMLType(mt) {
				s.noteUnexpected(r, "XML request bodies are not modelled")
			}
			return nil, errUnsupportedMedia(ct)
		}
	}
	if r.ContentLength > limit {
		return nil, errPayloadTooLarge(r.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errMalformedJSON()
	}
	if int64(len(data)) > limit {
		return nil, errPayloadTooLarge(int64(len(data)), limit)
	}
	values, skipped, ok := decodeRecordJSON(data)
	if !ok {
		return nil, errMalformedJSON()
	}
	for _, name := range skipped {
		s.noteUnexpected(r, "object or array value for field "+name+" ignored")
	}
	return values, nil
}

// decodeRecordJSON turns a body into field values: strings as they are,
// numbers as written, booleans as "true"/"false", null as "". Object and
// array values are skipped and named in skipped.
func decodeRecordJSON(data []byte) (values map[string]string, skipped []string, ok bool) {
	values = map[string]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return values, nil, true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false // trailing data
	}
	if arr, isArr := v.([]any); isArr {
		if len(arr) == 0 {
			return values, nil, true
		}
		v = arr[0]
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil, nil, false
	}
	for name, x := range obj {
		switch x := x.(type) {
		case string:
			values[name] = x
		case json.Number:
			values[name] = x.String()
		case bool:
			values[name] = strconv.FormatBool(x)
		case nil:
			values[name] = ""
		default:
			skipped = append(skipped, name)
		}
	}
	return values, skipped, true
}

// encoder prepares the columns of the records this request returns:
// sysparm_fields (unknown names dropped, dot-walks as flat keys) or every
// field of the table, minus those the caller may not read.
func (tr *tableRequest) encoder(tx *store.Tx, t *store.Table) *recordEncoder {
	enc := &recordEncoder{tx: tx, table: t, base: tr.base, mode: tr.params.Display, excludeRef: tr.params.ExcludeRef}
	if !tr.params.HasFields {
		if tr.params.View != "" {
			tr.s.noteUnexpected(tr.r, "sysparm_view is not modelled: every field returned")
		}
		for _, f := range t.Fields {
			if tr.s.canReadField(tx, tr.p, t.Name, f.Name) {
				enc.addColumn(f.Name, f, f.Index)
			}
		}
		return enc
	}
	seen := map[string]bool{}
	for _, name := range tr.params.Fields {
		if seen[name] {
			continue
		}
		seen[name] = true
		f, ok := resolveField(tx, t, name)
		if !ok || !tr.readablePath(tx, t, name) {
			continue
		}
		idx := -1
		if !strings.Contains(name, ".") {
			idx = f.Index
		}
		enc.addColumn(name, f, idx)
	}
	return enc
}

// readablePath checks field-level read permission on every hop of a
// (dot-walked) path: caller_id.email needs incident.caller_id and
// sys_user.email.
func (tr *tableRequest) readablePath(tx *store.Tx, t *store.Table, path string) bool {
	tableName := tr.table
	for {
		name, rest, dotted := strings.Cut(path, ".")
		if !tr.s.canReadField(tx, tr.p, tableName, name) {
			return false
		}
		if !dotted {
			return true
		}
		f, ok := t.Field(name)
		if !ok {
			return false
		}
		if t, ok = tx.Table(refTable(f)); !ok {
			return false
		}
		tableName, path = t.Name, rest
	}
}

// queryOptions are the instance properties the query parser honours.
func (tr *tableRequest) queryOptions(tx *store.Tx) query.Options {
	return query.Options{
		InvalidReturnsNoRows: propertyBool(tx, "glide.invalid_query.returns_no_rows", false),
		Now:                  tr.s.clock.Now,
	}
}

// list answers GET on a collection. The order of the steps is the
// instance's quirk: match, sort, count, take the page, and only then drop
// the rows the caller may not read, so pages can come back short or empty
// while later pages still hold rows (servicenow-spec §5.7).
func (tr *tableRequest) list(tx *store.Tx) *tableAnswer {
	t, ok := tx.Table(tr.table)
	if !ok {
		return failed(errInvalidTable(tr.table))
	}
	schema := tableSchema{tx: tx, t: t}
	opts := tr.queryOptions(tx)
	q := query.Parse(tr.params.Query, schema, opts)
	for _, u := range q.Unsupported() {
		tr.s.noteUnexpected(tr.r, "sysparm_query: "+u.Reason+": "+u.Term)
	}
	filters := tr.nameValueFilters(tx, t, schema, opts)

	queried := q.Fields()
	for _, f := range filters {
		queried = append(queried, f.path)
	}
	for _, path := range queried {
		if !tr.s.canQueryField(tx, tr.p, t.Name, path) {
			return failed(errQueryDenied())
		}
	}

	matched := matchRows(tx, t.Name, func(r *rowRecord) bool {
		if !q.Match(r) {
			return false
		}
		for _, f := range filters {
			if !f.match(r) {
				return false
			}
		}
		return true
	})
	total := len(matched)
	end := min(tr.params.Offset, total) + min(tr.params.Limit, total)
	ordered := sortedPrefix(q, matched, min(end, total))
	page := ordered[min(tr.params.Offset, len(ordered)):]
	page = page[:min(tr.params.Limit, len(page))]

	enc := tr.encoder(tx, t)
	var body []byte
	if bp, ok := bodyPool.Get().(*[]byte); ok {
		body = *bp
	}
	if need := 64 + len(page)*256*max(1, len(enc.cols)/8); cap(body) < need {
		body = make([]byte, 0, need)
	}
	body = append(body, `{"result":[`...)
	n := 0
	for i := range page {
		if !tr.s.canAccessRecord(tx, tr.p, "read", t.Name, page[i].row) {
			continue
		}
		if n > 0 {
			body = append(body, ',')
		}
		body = enc.appendRecord(body, page[i].row)
		n++
	}
	body = append(body, "]}"...)

	if n == 0 && tr.v1 {
		return failed(errNoMatches())
	}
	h := http.Header{}
	if !tr.params.NoCount {
		h.Set("X-Total-Count", strconv.Itoa(total))
		if !tr.params.NoLink {
			if link := linkHeader(tr.base, tr.r.URL.EscapedPath(), tr.r.URL.RawQuery, tr.params.Limit, tr.params.Offset, total); link != "" {
				h.Set("Link", link)
			}
		}
	}
	return &tableAnswer{status: http.StatusOK, body: body, header: h, pooled: true}
}

// parallelScanRows is the table size from which matchRows splits the work
// across CPUs: scanning is bound by memory latency, which cores overlap.
const parallelScanRows = 16384

// matchRows returns the rows of table (and its children) that match, in the
// store's order. match must be safe for concurrent use; a Query is.
func matchRows(tx *store.Tx, table string, match func(*rowRecord) bool) []rowRecord {
	workers := min(runtime.GOMAXPROCS(0), 8)
	if workers < 2 || tx.Count(table) < parallelScanRows {
		var out []rowRecord
		rr := &rowRecord{tx: tx}
		_ = tx.Scan(table, func(row *store.Row) bool {
			rr.row = row
			if match(rr) {
				out = append(out, *rr)
			}
			return true
		})
		return out
	}
	rows := make([]*store.Row, 0, tx.Count(table))
	_ = tx.Scan(table, func(row *store.Row) bool {
		rows = append(rows, row)
		return true
	})
	parts := make([][]rowRecord, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chunk := rows[len(rows)*w/workers : len(rows)*(w+1)/workers]
		wg.Go(func() {
			rr := &rowRecord{tx: tx}
			for _, row := range chunk {
				rr.row = row
				if match(rr) {
					parts[w] = append(parts[w], *rr)
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(parts...)
}

// sortedPrefix returns the first n of rows in the query's order (a stable
// sort: ties keep the store's order). A page near the start of a large
// result needs only those, so a bounded heap picks them instead of sorting
// every match; the answer is the same.
func sortedPrefix(q *query.Query, rows []rowRecord, n int) []rowRecord {
	if len(q.OrderBy()) == 0 {
		return rows[:n]
	}
	if n*4 >= len(rows) {
		query.Sort(q, rows)
		return rows[:n]
	}
	if n == 0 {
		return nil
	}
	// after reports whether row i comes after row j in the stable order.
	after := func(i, j int) bool {
		if c := q.Compare(&rows[i], &rows[j]); c != 0 {
			return c > 0
		}
		return i > j
	}
	// heap is a max-heap (by after) of the n first rows seen so far.
	heap := make([]int, 0, n)
	down := func(k int) {
		for {
			top, l, r := k, 2*k+1, 2*k+2
			if l < len(heap) && after(heap[l], heap[top]) {
				top = l
			}
			if r < len(heap) && after(heap[r], heap[top]) {
				top = r
			}
			if top == k {
				return
			}
			heap[k], heap[top] = heap[top], heap[k]
			k = top
		}
	}
	for i := range rows {
		switch {
		case len(heap) < n:
			heap = append(heap, i)
			for k := len(heap) - 1; k > 0 && after(heap[k], heap[(k-1)/2]); k = (k - 1) / 2 {
				heap[k], heap[(k-1)/2] = heap[(k-1)/2], heap[k]
			}
		case after(heap[0], i):
			heap[0] = i
			down(0)
		}
	}
	slices.SortFunc(heap, func(i, j int) int {
		if after(i, j) {
			return 1
		}
		return -1
	})
	out := make([]rowRecord, n)
	for k, i := range heap {
		out[k] = rows[i]
	}
	return out
}

// nvFilter is one name-value filter: field=value, with choice labels and
// reference display values read as their stored values.
type nvFilter struct {
	path  string
	q     *query.Query // nil: compare exactly with value
	value string
}

func (f *nvFilter) match(r *rowRecord) bool {
	if f.q != nil {
		return f.q.Match(r)
	}
	return strings.EqualFold(r.Get(f.path), f.value)
}

func (tr *tableRequest) nameValueFilters(tx *store.Tx, t *store.Table, schema tableSchema, opts query.Options) []*nvFilter {
	var out []*nvFilter
	for _, nv := range tr.params.Filters {
		f, ok := resolveField(tx, t, nv.Name)
		if !ok {
			tr.s.noteUnexpected(tr.r, "name-value filter on unknown field "+nv.Name+" ignored")
			continue
		}
		v := storedValue(tx, f, nv.Value)
		flt := &nvFilter{path: nv.Name, value: v}
		if !strings.Contains(v, "^") {
			// The query package gives the filter the field type's equality
			// (booleans, numbers, case-insensitive text).
			flt.q = query.Parse(nv.Name+"="+v, schema, opts)
		}
		out = append(out, flt)
	}
	return out
}

// storedValue reads a display value as the stored value when it is one:
// a choice label as its value, a reference's display value as its sys_id.
// Anything else is returned unchanged.
func storedValue(tx *store.Tx, f *store.Field, v string) string {
	if v == "" {
		return v
	}
	if ref := refTable(f); ref != "" {
		if _, err := tx.Get(ref, v); err == nil {
			return v
		}
		rt, ok := tx.Table(ref)
		if !ok {
			return v
		}
		id := ""
		_ = tx.Scan(ref, func(row *store.Row) bool {
			if strings.EqualFold(displayOfRow(tx, rt, row), v) {
				id = row.ID()
				return false
			}
			return true
		})
		if id != "" {
			return id
		}
		return v
	}
	if f.HasChoices() {
		for _, c := range f.Choices {
			if c.Value == v {
				return v
			}
		}
		for _, c := range f.Choices {
			if strings.EqualFold(c.Label, v) {
				return c.Value
			}
		}
	}
	return v
}

// displayOfRow is a record's display value.
func displayOfRow(tx *store.Tx, t *store.Table, row *store.Row) string {
	df, ok := row.Table.Field(row.Table.Display)
	if !ok {
		if df, ok = t.Field(t.Display); !ok {
			return ""
		}
	}
	return displayValue(tx, df, row.At(df.Index), 1)
}

// getOne answers GET on a record: 404 when it is missing or unreadable.
func (tr *tableRequest) getOne(tx *store.Tx) *tableAnswer {
	t, row, ans := tr.readable(tx)
	if ans != nil {
		return ans
	}
	return &tableAnswer{status: http.StatusOK, body: tr.encoder(tx, t).appendResult(nil, row)}
}

// readable finds the request's record, answering 404 when it is missing or
// the caller may not read it (the same answer, as on an instance).
func (tr *tableRequest) readable(tx *store.Tx) (*store.Table, *store.Row, *tableAnswer) {
	t, ok := tx.Table(tr.table)
	if !ok {
		return nil, nil, failed(errInvalidTable(tr.table))
	}
	row, err := tx.Get(t.Name, tr.sysID)
	if err != nil || !tr.s.canAccessRecord(tx, tr.p, "read", t.Name, row) {
		return nil, nil, failed(errNoRecord())
	}
	return t, row, nil
}

// inputValues turns body values into what is written: fields the table does
// not have are ignored, display values are read as stored values with
// sysparm_input_display_value, and password fields are kept only then.
func (tr *tableRequest) inputValues(tx *store.Tx, t *store.Table, body map[string]string) map[string]string {
	out := make(map[string]string, len(body))
	for name, v := range body {
		f, ok := t.Field(name)
		if !ok || name == "sys_class_name" {
			continue
		}
		if store.IsSecretType(f.Type) && !tr.params.InputDV {
			continue
		}
		if tr.params.InputDV {
			v = storedValue(tx, f, v)
		}
		out[name] = v
	}
	return out
}

// prospective is the record an insert would make, for create ACLs.
func (tr *tableRequest) prospective(tx *store.Tx, t *store.Table, values map[string]string) mapRecord {
	rec := make(mapRecord, len(t.Fields))
	for _, f := range t.Fields {
		if v, ok := values[f.Name]; ok {
			rec[f.Name] = v
			continue
		}
		switch f.Default {
		case fixtures.DefaultUserID:
			rec[f.Name] = tr.p.UserID
		case fixtures.DefaultNowDateTime:
			rec[f.Name] = tx.Now().Format(store.TimeLayout)
		default:
			rec[f.Name] = f.Default
		}
	}
	if _, ok := t.Field("sys_class_name"); ok {
		rec["sys_class_name"] = t.Name
	}
	rec["sys_created_by"], rec["sys_updated_by"] = tr.p.UserName, tr.p.UserName
	return rec
}

// create answers POST: 201, a Location header and the new record.
func (tr *tableRequest) create(tx *store.Tx, body map[string]string) *tableAnswer {
	t, ok := tx.Table(tr.table)
	if !ok {
		return failed(errInvalidTable(tr.table))
	}
	values := tr.inputValues(tx, t, body)
	if !tr.s.canAccessRecord(tx, tr.p, "create", t.Name, tr.prospective(tx, t, values)) {
		return failed(errACL("Insert"))
	}
	row, err := tx.Insert(t.Name, values)
	if errors.Is(err, store.ErrExists) {
		label := values["sys_id"]
		if df, ok := t.Field(t.Display); ok && values[df.Name] != "" {
			label = values[df.Name]
		}
		return failed(&Error{Code: CodeOperationFailed, Message: "Operation Failed",
			Detail: "Error during insert of " + t.Name + " (" + label + ")"})
	}
	if err != nil {
		return failed(errInternal(err))
	}
	infoFrom(tr.r).Entry.SysID = row.ID()
	ans := tr.recordAnswer(tx, t, row, http.StatusCreated)
	ans.header = http.Header{"Location": {tr.base + "/api/now/table/" + t.Name + "/" + row.ID()}}
	return ans
}

// update answers PUT and PATCH, which both change only the fields given.
func (tr *tableRequest) update(tx *store.Tx, body map[string]string) *tableAnswer {
	t, row, ans := tr.readable(tx)
	if ans != nil {
		return ans
	}
	if !tr.s.canAccessRecord(tx, tr.p, "write", t.Name, row) {
		return failed(errACL("Update"))
	}
	changed := map[string]string{}
	for name, v := range tr.inputValues(tx, t, body) {
		f, _ := t.Field(name)
		if store.IsSecretType(f.Type) || row.Get(name) != v {
			changed[name] = v
		}
	}
	if len(changed) > 0 {
		var err error
		if row, err = tx.Update(t.Name, tr.sysID, changed); err != nil {
			return failed(errInternal(err))
		}
	}
	return tr.recordAnswer(tx, t, row, http.StatusOK)
}

// recordAnswer is a write's answer: the record, unless the client sent
// X-no-response-body: true.
func (tr *tableRequest) recordAnswer(tx *store.Tx, t *store.Table, row *store.Row, status int) *tableAnswer {
	if parseBool(tr.r.Header.Get("X-no-response-body")) {
		return &tableAnswer{status: status}
	}
	return &tableAnswer{status: status, body: tr.encoder(tx, t).appendResult(nil, row)}
}

// remove answers DELETE: 204 and no body.
func (tr *tableRequest) remove(tx *store.Tx) *tableAnswer {
	t, row, ans := tr.readable(tx)
	if ans != nil {
		return ans
	}
	if !tr.s.canAccessRecord(tx, tr.p, "delete", t.Name, row) {
		return failed(errACL("Delete"))
	}
	if err := tx.Delete(t.Name, tr.sysID); err != nil {
		return failed(errInternal(err))
	}
	return &tableAnswer{status: http.StatusNoContent}
}
