package fakesn

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Rate limits (servicenow-spec §7): sys_rate_limit_rules set requests per
// hour per user for a REST API, optionally one method and one table. Windows
// are clock hours of the fake's clock, so moving the clock into the next hour
// starts a fresh count. A real instance batches counts every 30 s and can
// lag; the fake counts exactly.

// rateTier orders rules: a single-user rule beats a role rule, which beats
// the all-users rule.
const (
	tierUser = iota
	tierRole
	tierAll
	tierNone
)

// checkRateLimit counts the request against the rule that applies to p, if
// any. When one applies it sets X-RateLimit-Limit, X-RateLimit-Reset and
// X-RateLimit-Rule on w, and over the limit it returns the 429 error with
// Retry-After. With no matching rule it sets no header at all, like a
// default instance.
func (s *Server) checkRateLimit(w http.ResponseWriter, tx *store.Tx, p *principal, restAPI, method, table string) *Error {
	if p == nil {
		return nil
	}
	rule, limit := rateRuleFor(tx, p, normalizeRestAPI(restAPI), method, table)
	if rule == "" {
		return nil
	}
	now := s.clock.Now()
	window := now.Truncate(time.Hour)
	reset := window.Add(time.Hour)
	h := w.Header()
	setExact(h, "X-RateLimit-Limit", strconv.Itoa(limit))
	setExact(h, "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	setExact(h, "X-RateLimit-Rule", rule)
	if n := s.limits.hit(rule, p.UserID, window); n <= limit {
		return nil
	}
	wait := int64((reset.Sub(now) + time.Second - 1) / time.Second) // ceil
	if wait < 1 {
		wait = 1
	}
	return &Error{
		Code:    CodeRateLimited,
		Message: "Rate limit exceeded",
		Detail:  fmt.Sprintf("Rate limit of %d requests per hour for %s exceeded", limit, apiLabel(restAPI)),
		Header:  http.Header{"Retry-After": {strconv.FormatInt(wait, 10)}},
	}
}

// rateRuleFor picks the rule that governs p's request: the best tier, and
// within it the lowest limit (the first rule on a tie). It returns the
// rule's sys_id and limit, or "" when none applies.
func rateRuleFor(tx *store.Tx, p *principal, api, method, table string) (string, int) {
	best, bestTier, bestLimit := "", tierNone, 0
	_ = tx.Scan("sys_rate_limit_rules", func(r *store.Row) bool {
		if isFalse(r.Get("active")) || !restRuleMatches(r, api, method, table) {
			return true
		}
		limit, err := strconv.Atoi(strings.TrimSpace(r.Get("max_requests")))
		if err != nil {
			return true
		}
		limit = max(limit, 0)
		tier := tierNone
		switch strings.TrimSpace(r.Get("type")) {
		case "user":
			if u := r.Get("user"); u != "" && u == p.UserID {
				tier = tierUser
			}
		case "role":
			// Exact membership: admin is not in every role's bucket.
			if role, err := tx.Get("sys_user_role", r.Get("role")); err == nil && p.Roles[role.Get("name")] {
				tier = tierRole
			}
		case "all", "":
			tier = tierAll
		}
		if tier < bestTier || (tier == bestTier && tier != tierNone && limit < bestLimit) {
			best, bestTier, bestLimit = r.ID(), tier, limit
		}
		return true
	})
	return best, bestLimit
}

// apiLabel names an API as the instance's rate-limit message does.
func apiLabel(restAPI string) string {
	if normalizeRestAPI(restAPI) == "now/table" {
		return "Table API"
	}
	return restAPI
}

// maxRateKeys bounds the counters; a key beyond it is not tracked.
const maxRateKeys = 1 << 16

type rateKey struct {
	rule, user string
	window     int64 // Unix seconds of the window's start
}

// rateCounter counts requests per (rule, user, window), keeping only the
// newest window.
type rateCounter struct {
	mu     sync.Mutex // guards counts and newest
	counts map[rateKey]int
	newest int64
}

func newRateCounter() *rateCounter { return &rateCounter{counts: map[rateKey]int{}} }

// reset forgets every count.
func (c *rateCounter) reset() {
	c.mu.Lock()
	c.counts = map[rateKey]int{}
	c.newest = 0
	c.mu.Unlock()
}

// hit counts one request and returns the count so far in its window.
func (c *rateCounter) hit(rule, user string, window time.Time) int {
	w := window.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	if w > c.newest {
		c.newest = w
		for k := range c.counts {
			if k.window < w {
				delete(c.counts, k)
			}
		}
	}
	k := rateKey{rule: rule, user: user, window: w}
	n, ok := c.counts[k]
	if !ok && len(c.counts) >= maxRateKeys {
		return 1
	}
	n++
	c.counts[k] = n
	return n
}
