package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/sncheck/sncheck/harness"
)

// The sweep deletes whatever a run with writes allowed left behind: every
// incident whose short_description starts with the run marker. The suite
// sweeps when it ends (also when interrupted: Ginkgo runs cleanup on
// SIGINT), and the runner sweeps again after the suite's process exits,
// in case it was killed.

// Sweep deletes the records marked with marker on t, with the target's
// credentials, and returns how many requests it sent.
func Sweep(ctx context.Context, t harness.Target, marker string) (requests int, err error) {
	var n atomic.Int64
	c := countingClient(t.HTTPClient(ctx), &n)
	defer func() { requests = int(n.Load()) }()
	token, err := passwordToken(ctx, c, t.BaseURL(), t.Credentials())
	if err != nil {
		return 0, err
	}
	_, err = sweep(ctx, c, t.BaseURL(), token, marker)
	return 0, err
}

// sweep deletes the incidents marked with marker and returns how many.
func sweep(ctx context.Context, c *http.Client, base, token, marker string) (int, error) {
	if !markerPattern.MatchString(marker) {
		return 0, fmt.Errorf("instance: run marker %q is not 6 to 64 letters, digits, '.', '_' or '-'", marker)
	}
	query := url.Values{
		"sysparm_query":  {"short_descriptionSTARTSWITH" + marker},
		"sysparm_fields": {"sys_id"},
		"sysparm_limit":  {"1000"},
	}
	var list struct {
		Result []struct {
			SysID string `json:"sys_id"`
		} `json:"result"`
	}
	status, body, err := call(ctx, c, http.MethodGet, base+incidents+"?"+query.Encode(), token)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		return 0, fmt.Errorf("instance: listing the records marked %s: status %d", marker, status)
	}
	deleted := 0
	var errs []error
	for _, r := range list.Result {
		if !sysIDPattern.MatchString(r.SysID) {
			continue
		}
		status, _, err := call(ctx, c, http.MethodDelete, base+incidents+"/"+r.SysID, token)
		switch {
		case err != nil:
			errs = append(errs, err)
		case status == http.StatusNoContent || status == http.StatusNotFound:
			deleted++
		default:
			errs = append(errs, fmt.Errorf("instance: deleting incident %s: status %d", r.SysID, status))
		}
	}
	return deleted, errors.Join(errs...)
}

// passwordToken gets an access token for the target's user.
func passwordToken(ctx context.Context, c *http.Client, base string, creds harness.Credentials) (string, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret},
		"username": {creds.Username}, "password": {creds.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth_token.do", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("instance: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("instance: token request: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ans) != nil || ans.AccessToken == "" {
		return "", fmt.Errorf("instance: the password grant for %s failed with status %d", creds.Username, resp.StatusCode)
	}
	return ans.AccessToken, nil
}

// call sends a Table API request with a bearer token.
func call(ctx context.Context, c *http.Client, method, u, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("instance: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("instance: %s %s: %w", method, req.URL.Path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, err
}

// unwrapURLError drops the URL from a transport error: it may hold a token.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
