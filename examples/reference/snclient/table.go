package snclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Record is one Table API record: field name to value (strings, or
// objects for reference fields).
type Record = map[string]any

// maxBody bounds a Table API answer the client reads.
const maxBody = 64 << 20

// maxPages bounds a list, whatever the instance's headers say.
const maxPages = 100000

// List returns every record of table that matches the encoded query, page
// by page until the last one. Pages can be short, or empty, when ACLs hide
// rows, so the end is found from the Link header (rel="next") or
// X-Total-Count, never from a page's size.
func (c *Client) List(ctx context.Context, table, query string, fields []string) ([]Record, error) {
	op := "list " + table
	if err := checkName(op, "table", table); err != nil {
		return nil, err
	}
	limit := c.cfg.PageSize
	q := url.Values{"sysparm_limit": {strconv.Itoa(limit)}}
	if query != "" {
		q.Set("sysparm_query", query)
	}
	if len(fields) > 0 {
		q.Set("sysparm_fields", strings.Join(fields, ","))
	}
	var out []Record
	seen := map[string]bool{}
	offset := 0
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, &Error{Kind: KindUnavailable, Op: op, Message: fmt.Sprintf("more than %d pages", maxPages)}
		}
		q.Set("sysparm_offset", strconv.Itoa(offset))
		resp, err := c.do(ctx, op, http.MethodGet, tablePath(table, ""), q, nil)
		if err != nil {
			return nil, err
		}
		var body struct {
			Result []Record `json:"result"`
		}
		if err := decodeResult(op, resp, &body); err != nil {
			return nil, err
		}
		for _, r := range body.Result {
			// Records that move while we page can show up twice.
			if id, ok := r["sys_id"].(string); ok && id != "" {
				if seen[id] {
					continue
				}
				seen[id] = true
			}
			out = append(out, r)
		}
		next, more := c.nextOffset(resp, offset, limit, len(body.Result), page)
		if !more {
			break
		}
		offset = next
	}
	if out == nil {
		out = []Record{}
	}
	return out, nil
}

// nextOffset finds the next page's offset from the answer's headers.
func (c *Client) nextOffset(resp *answer, offset, limit, got, page int) (int, bool) {
	switch {
	case c.cfg.Bugs.FollowLinkForever:
		return offset + limit, got > 0 && page < 49
	case c.cfg.Bugs.StopOnShortPage && got < limit:
		return 0, false
	}
	if next, ok := linkNext(resp.header.Get("Link")); ok {
		// Only the offset is taken from the link: the request stays on the
		// configured instance, whatever host the link names.
		return next, next > offset
	}
	if total, err := strconv.Atoi(resp.header.Get("X-Total-Count")); err == nil {
		return offset + limit, offset+limit < total
	}
	return 0, false
}

// linkNext returns sysparm_offset of the rel="next" entry of a Link header.
func linkNext(h string) (int, bool) {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(part, ";")
		if !ok {
			continue
		}
		isNext := false
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && strings.Trim(v, `"`) == "next" {
				isNext = true
			}
		}
		if !isNext {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return 0, false
		}
		off, err := strconv.Atoi(u.Query().Get("sysparm_offset"))
		if err != nil || off < 0 {
			return 0, false
		}
		return off, true
	}
	return 0, false
}

// Get returns one record.
func (c *Client) Get(ctx context.Context, table, sysID string) (Record, error) {
	op := "get " + table
	if err := checkRecord(op, table, sysID); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, op, http.MethodGet, tablePath(table, sysID), nil, nil)
	if err != nil {
		return nil, err
	}
	return recordResult(op, resp)
}

// Create inserts a record and returns it as the instance stored it. A
// failed POST is never sent again: it may have created the record.
func (c *Client) Create(ctx context.Context, table string, rec Record) (Record, error) {
	op := "create " + table
	if err := checkName(op, "table", table); err != nil {
		return nil, err
	}
	body, err := encodeRecord(op, rec)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, op, http.MethodPost, tablePath(table, ""), nil, body)
	if err != nil {
		return nil, err
	}
	return recordResult(op, resp)
}

// Update changes the given fields of a record (PATCH) and returns it.
func (c *Client) Update(ctx context.Context, table, sysID string, rec Record) (Record, error) {
	op := "update " + table
	if err := checkRecord(op, table, sysID); err != nil {
		return nil, err
	}
	body, err := encodeRecord(op, rec)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, op, http.MethodPatch, tablePath(table, sysID), nil, body)
	if err != nil {
		return nil, err
	}
	return recordResult(op, resp)
}

// Delete removes a record.
func (c *Client) Delete(ctx context.Context, table, sysID string) error {
	op := "delete " + table
	if err := checkRecord(op, table, sysID); err != nil {
		return err
	}
	_, err := c.do(ctx, op, http.MethodDelete, tablePath(table, sysID), nil, nil)
	return err
}

func checkName(op, what, v string) error {
	if v == "" || strings.ContainsAny(v, "/?#") {
		return &Error{Kind: KindInvalidRequest, Op: op, Message: fmt.Sprintf("%s %q is not a name", what, clip(v))}
	}
	return nil
}

func checkRecord(op, table, sysID string) error {
	if err := checkName(op, "table", table); err != nil {
		return err
	}
	return checkName(op, "sys_id", sysID)
}

func tablePath(table, sysID string) string {
	p := "/api/now/table/" + url.PathEscape(table)
	if sysID != "" {
		p += "/" + url.PathEscape(sysID)
	}
	return p
}

func encodeRecord(op string, rec Record) ([]byte, error) {
	if rec == nil {
		rec = Record{}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Op: op, Message: "the record cannot be encoded as JSON", Err: err}
	}
	return b, nil
}

// answer is a successful Table API answer.
type answer struct {
	status int
	header http.Header
	body   []byte
	// empty is set by the hibernation-as-empty bug for an HTML page.
	empty bool
}

func decodeResult(op string, resp *answer, v any) error {
	if resp.empty {
		return nil
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return &Error{Kind: KindUnavailable, Op: op, StatusCode: resp.status, Message: "the answer is not the Table API's JSON", Err: err}
	}
	return nil
}

func recordResult(op string, resp *answer) (Record, error) {
	var body struct {
		Result Record `json:"result"`
	}
	if err := decodeResult(op, resp, &body); err != nil {
		return nil, err
	}
	if body.Result == nil {
		body.Result = Record{}
	}
	return body.Result, nil
}

// idempotent methods may be sent again after a 5xx or a lost answer.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

// do sends one Table API request, renewing the token once after a 401 and
// retrying 429s and (idempotent) 5xx within bounds. Non-2xx answers become
// an *Error.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body []byte) (*answer, error) {
	tok, err := c.current(op)
	if err != nil {
		return nil, err
	}
	if c.cfg.Bugs.RefreshEveryCall {
		if tok, err = c.renew(ctx, op, tok); err != nil {
			return nil, err
		}
	}
	var (
		renewed   bool // the single renewal after a 401 is used up
		retries   int  // after 429 and 5xx
		forbidden int  // 403s retried by the retry-403-forever bug
		deadTried bool // the table-after-dead-refresh bug's extra call
	)
	for {
		resp, err := c.send(ctx, method, path, q, body, tok)
		if err != nil {
			if (idempotent(method) || c.cfg.Bugs.ReplayPost) && retries < c.cfg.MaxRetries && ctx.Err() == nil {
				if werr := c.backoff(ctx, op, retries); werr != nil {
					return nil, werr
				}
				retries++
				continue
			}
			return nil, transportErr(op, err)
		}
		switch s := resp.status; {
		case s/100 == 2:
			if isHTML(resp.header) {
				if c.cfg.Bugs.HibernationAsEmpty {
					resp.empty = true
					return resp, nil
				}
				return nil, &Error{Kind: KindUnavailable, Op: op, StatusCode: s, Message: "the instance answered with an HTML page (hibernating?)"}
			}
			return resp, nil

		case s == http.StatusUnauthorized:
			if c.cfg.Bugs.NeverRefresh || renewed {
				return nil, apiError(op, s, resp.body)
			}
			newTok, err := c.renew(ctx, op, tok)
			if err != nil {
				if c.cfg.Bugs.TableAfterDeadRefresh && !deadTried && KindOf(err) == KindReauthRequired {
					deadTried, renewed = true, true
					continue // once more with the refused token
				}
				return nil, err
			}
			tok, renewed = newTok, true

		case s == http.StatusForbidden:
			e := apiError(op, s, resp.body)
			if c.cfg.Bugs.ScopeAsForbidden {
				e.Kind, e.Scope = KindForbidden, ""
			}
			switch {
			case c.cfg.Bugs.Retry403Forever && forbidden < 25:
				forbidden++
			case c.cfg.Bugs.RefreshOn403 && !renewed:
				newTok, err := c.renew(ctx, op, tok)
				if err != nil {
					return nil, err
				}
				tok, renewed = newTok, true
			default:
				return nil, e
			}

		case s == http.StatusTooManyRequests:
			wait, ok := retryAfter(resp.header)
			if retries >= c.cfg.MaxRetries || wait > c.cfg.MaxRetryAfter {
				return nil, apiError(op, s, resp.body)
			}
			if !ok {
				wait = c.cfg.Backoff << retries
			}
			if c.cfg.Bugs.IgnoreRetryAfter {
				wait = 0
			}
			c.log.Info("rate limited; waiting", "op", op, "wait", wait)
			if err := c.cfg.Sleep(ctx, wait); err != nil {
				return nil, transportErr(op, err)
			}
			retries++

		case s >= 500:
			retryable := idempotent(method) && !c.cfg.Bugs.NoRetry5xx || method == http.MethodPost && c.cfg.Bugs.ReplayPost
			if !retryable || retries >= c.cfg.MaxRetries {
				return nil, apiError(op, s, resp.body)
			}
			if err := c.backoff(ctx, op, retries); err != nil {
				return nil, err
			}
			retries++

		default:
			return nil, apiError(op, s, resp.body)
		}
	}
}

func (c *Client) backoff(ctx context.Context, op string, retry int) error {
	d := c.cfg.Backoff << retry
	c.log.Info("retrying after backoff", "op", op, "wait", d)
	if err := c.cfg.Sleep(ctx, d); err != nil {
		return transportErr(op, err)
	}
	return nil
}

// retryAfter reads Retry-After, in seconds or as an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// send makes one HTTP request with the access token.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body []byte, tok *oauth2.Token) (*answer, error) {
	u := c.cfg.InstanceURL + path
	query := url.Values{}
	for k, v := range q {
		query[k] = v
	}
	if c.cfg.Bugs.TokenInURL {
		query.Set("access_token", tok.AccessToken)
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sncheck-reference/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.cfg.Bugs.BasicToTable:
		req.SetBasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
	case c.cfg.Bugs.TokenInURL:
	default:
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	logQuery := redactQuery(q)
	if err != nil {
		c.log.Info("request failed", "method", method, "path", path, "query", logQuery, "error", transportErr("", err).Message)
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	c.log.Info("request", "method", method, "path", path, "query", logQuery, "status", resp.StatusCode,
		"duration", time.Since(start).Round(time.Millisecond))
	if c.cfg.Bugs.LogSecret {
		c.log.Info("request (debug)", "authorization", "Bearer "+tok.AccessToken)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// redactQuery is a query for the log: secret parameters never appear.
func redactQuery(q url.Values) string {
	out := url.Values{}
	for k, v := range q {
		switch strings.ToLower(k) {
		case "access_token", "refresh_token", "client_secret", "password", "code", "code_verifier":
			out[k] = []string{"REDACTED"}
		default:
			out[k] = v
		}
	}
	return out.Encode()
}
