package integration

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Authorize plays the user's browser for the authorization-code grant: it
// opens authorizeURL on the fake, logs in as the check's user, allows the
// application on the consent page, and returns the URL the fake redirects
// the browser to (the integration's redirect URI with code and state).
func (e *Env) Authorize(ctx context.Context, authorizeURL string) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("the authorize URL %q does not parse: %v", clipText(authorizeURL, 200), err)
	}
	base, _ := url.Parse(e.baseURL())
	if u.Host != base.Host || u.Path != "/oauth_auth.do" {
		return "", fmt.Errorf("the authorize URL %s is not the instance's /oauth_auth.do (%s)", clipText(redactURL(u), 200), base.Host)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{
		Jar: jar, Timeout: 30 * time.Second, Transport: uaTransport{ua: browserUserAgent},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	page, loc, err := browse(ctx, browser, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	form := url.Values{"user_name": {e.canary.userName}, "user_password": {e.canary.password}}
	for range 3 { // login, consent, redirect
		if loc != "" {
			return loc, nil
		}
		fields, ok := hiddenFields(page)
		if !ok {
			return "", fmt.Errorf("the authorize page shows no form: %s", pageError(page))
		}
		for k, v := range fields {
			form[k] = v
		}
		if strings.Contains(page, `id="consent_form"`) {
			form.Set("sysparm_action", "allow")
			form.Del("user_name")
			form.Del("user_password")
		}
		target := base.ResolveReference(&url.URL{Path: "/oauth_auth.do"})
		page, loc, err = browse(ctx, browser, http.MethodPost, target.String(), form)
		if err != nil {
			return "", err
		}
		if strings.Contains(page, `id="login_error"`) {
			return "", fmt.Errorf("the login page refused the check's user: %s", pageError(page))
		}
	}
	if loc != "" {
		return loc, nil
	}
	return "", fmt.Errorf("the authorize flow did not redirect: %s", pageError(page))
}

func browse(ctx context.Context, c *http.Client, method, u string, form url.Values) (page, location string, err error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("the browser could not load %s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
		return "", resp.Header.Get("Location"), nil
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("the instance answered the browser's %s %s with %d: %s", method, req.URL.Path, resp.StatusCode, pageError(string(b)))
	}
	return string(b), "", nil
}

var (
	inputTag  = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrValue = regexp.MustCompile(`(?is)\b(type|name|value)="([^"]*)"`)
	errorText = regexp.MustCompile(`(?is)id="(?:error_message|login_error)"[^>]*>([^<]*)<`)
)

// hiddenFields reads the hidden inputs of a login or consent page.
func hiddenFields(page string) (url.Values, bool) {
	if !strings.Contains(page, "<form") {
		return nil, false
	}
	out := url.Values{}
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrValue.FindAllStringSubmatch(tag, -1) {
			attrs[strings.ToLower(m[1])] = html.UnescapeString(m[2])
		}
		if strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
			out.Set(attrs["name"], attrs["value"])
		}
	}
	return out, true
}

// pageError is the error text an authorize page shows, or its start.
func pageError(page string) string {
	if m := errorText.FindStringSubmatch(page); m != nil {
		return strings.TrimSpace(html.UnescapeString(m[1]))
	}
	return clipText(strings.Join(strings.Fields(page), " "), 160)
}

// redactURL shows a URL with secret query values replaced.
func redactURL(u *url.URL) string {
	c := *u
	q := c.Query()
	for k := range q {
		switch strings.ToLower(k) {
		case "client_secret", "password", "access_token", "refresh_token", "code", "code_verifier", "token":
			q.Set(k, "REDACTED")
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
