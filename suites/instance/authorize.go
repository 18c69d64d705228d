package instance

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// The authorization endpoint, /oauth_auth.do (servicenow-spec §2), with
// sncheck playing the user's browser: it fills the login form and presses
// Allow or Deny on the consent page.

func describeAuthorize(s *suite) {
	Describe("the authorization endpoint", func() {
		var (
			b     *browser
			state string
		)

		BeforeEach(func() {
			if s.creds.RedirectURI == "" {
				Skip("needs the application's Redirect URL: set SN_REDIRECT_URI (or --redirect-uri)")
			}
			b = s.newBrowser()
			state = "sncheck-" + random(16)
		})

		checkAuthzState.It(func(ctx SpecContext) {
			a := b.walk(ctx, s.authorizeQuery(""), "")
			Expect(string(a.Body)).To(ContainSubstring("Missing State parameter in request."),
				"the answer to an authorization request without state: %s", a.Summary())
			Expect(redirectParams(a)).NotTo(HaveKey("code"), "no code may be issued without state")
		})

		checkAuthzAllow.It(func(ctx SpecContext) {
			a := b.walk(ctx, s.authorizeQuery(state), "allow")
			b.requireDecision(a)
			params := redirectParams(a)
			Expect(redirectTarget(a)).To(Equal(s.creds.RedirectURI), "the redirect goes to the redirect URI")
			Expect(params).To(HaveKeyWithValue("state", state), "the redirect repeats state")
			Expect(suites.Secret(params["code"])).To(suites.BeOpaqueToken(), "the authorization code")

			form := s.clientForm("grant_type", "authorization_code", "code", params["code"], "redirect_uri", s.creds.RedirectURI)
			parseTokens(s.tokenRequest(ctx, form, "code exchange")).mustWork("exchanging the code", true)
			again := s.tokenRequest(ctx, form, "code replay")
			Expect(again).To(suites.HaveOAuthFailure(), "a code used once must be refused")
		})

		checkAuthzDeny.It(func(ctx SpecContext) {
			a := b.walk(ctx, s.authorizeQuery(state), "deny")
			b.requireDecision(a)
			params := redirectParams(a)
			Expect(redirectTarget(a)).To(Equal(s.creds.RedirectURI), "the redirect goes to the redirect URI")
			Expect(params).To(HaveKeyWithValue("error", "access_denied"), "the redirect says access_denied")
			Expect(params).To(HaveKeyWithValue("state", state), "the redirect repeats state")
			Expect(params).NotTo(HaveKey("code"), "Deny issues no code")
		})
	})
}

// authorizeQuery is an authorization-code request for the configured
// application; state "" leaves it out.
func (s *suite) authorizeQuery(state string) string {
	kv := []string{"response_type", "code", "client_id", s.creds.ClientID, "redirect_uri", s.creds.RedirectURI}
	if state != "" {
		kv = append(kv, "state", state)
	}
	return q(kv...)
}

// browser is the user's browser: a cookie jar over the suite's counting
// client, never following redirects (the last one leaves the instance).
type browser struct {
	s      *suite
	client *http.Client
	// stuck says why the walk could not reach a decision, if it did not.
	stuck string
}

func (s *suite) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *s.client
	c.Jar = jar
	return &browser{s: s, client: &c}
}

func (b *browser) send(ctx context.Context, req *http.Request, observe string) *suites.Answer {
	GinkgoHelper()
	req.Header.Set("User-Agent", "sncheck-browser/1")
	a := sendWith(ctx, b.client, req, observe)
	a.Secret = true // pages and redirects may carry codes or tokens
	return a
}

// walk opens /oauth_auth.do?query and goes through the login page, then,
// when action is "allow" or "deny", presses that button on the consent
// page. It returns the first answer it cannot go past: a redirect, or a
// page with neither form.
func (b *browser) walk(ctx context.Context, query, action string) *suites.Answer {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, b.s.base+"/oauth_auth.do?"+query, nil)
	Expect(err).NotTo(HaveOccurred())
	a := b.send(ctx, req, "authorize")
	for step := 0; step < 6; step++ {
		if a.Status >= 300 && a.Status < 400 {
			next, onInstance := b.onInstance(a)
			if !onInstance {
				return a // leaving the instance: the redirect to the client
			}
			req, err := http.NewRequest(http.MethodGet, next, nil)
			Expect(err).NotTo(HaveOccurred())
			a = b.send(ctx, req, "instance redirect")
			continue
		}
		forms := parseForms(string(a.Body))
		switch login, consent := findLogin(forms), findConsent(forms, action); {
		case login != nil:
			login.values.Set("user_name", b.s.creds.Username)
			login.values.Set("user_password", b.s.creds.Password)
			a = b.post(ctx, a, login, "login")
		case action != "" && consent != nil:
			consent.values.Set("sysparm_action", action)
			a = b.post(ctx, a, consent, "consent "+action)
		default:
			b.stuck = "no login form and no consent form with " + action + " in the page"
			return a
		}
	}
	b.stuck = "still no decision after six pages"
	return a
}

// onInstance resolves a redirect's Location and reports whether it stays
// on the instance (a login step) rather than going to the client.
func (b *browser) onInstance(a *suites.Answer) (string, bool) {
	loc, err := a.Resp.Request.URL.Parse(a.Header.Get("Location"))
	if err != nil {
		return "", false
	}
	base, err := url.Parse(b.s.base)
	if err != nil || !strings.EqualFold(loc.Host, base.Host) || strings.HasPrefix(b.s.creds.RedirectURI, loc.Scheme+"://"+loc.Host+loc.Path) {
		return "", false
	}
	return loc.String(), true
}

func (b *browser) post(ctx context.Context, page *suites.Answer, f *form, observe string) *suites.Answer {
	GinkgoHelper()
	target := page.Resp.Request.URL
	if f.action != "" {
		u, err := target.Parse(f.action)
		Expect(err).NotTo(HaveOccurred(), "the form's action")
		target = u
	}
	req, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(f.values.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(ctx, req, observe)
}

// requireDecision stops a spec whose walk did not end in a redirect:
// against a live instance, whose pages need a real browser, it skips.
func (b *browser) requireDecision(a *suites.Answer) {
	GinkgoHelper()
	if a.Status >= 300 && a.Status < 400 && a.Header.Get("Location") != "" {
		return
	}
	if b.s.target.Live() {
		Skip("sncheck could not play the browser through the instance's login and consent pages (" + b.stuck +
			"); try the flow in a real browser")
	}
	Fail("the authorization flow ended without a redirect: " + b.stuck + "; last answer: " + a.Summary())
}

// redirectParams are the query parameters of an answer's Location.
func redirectParams(a *suites.Answer) map[string]string {
	out := map[string]string{}
	u, err := url.Parse(a.Header.Get("Location"))
	if err != nil {
		return out
	}
	for k, v := range u.Query() {
		out[k] = v[0]
	}
	return out
}

// redirectTarget is an answer's Location without its query.
func redirectTarget(a *suites.Answer) string {
	u, err := url.Parse(a.Header.Get("Location"))
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// form is an HTML form: its action and the values it would submit
// (hidden and text inputs), plus its buttons' names and values.
type form struct {
	action  string
	values  url.Values
	buttons map[string][]string
	inputs  map[string]bool
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	submitRE = regexp.MustCompile(`(?i)^(submit|image)$`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		v := a[2]
		if v == "" {
			v = a[3]
		}
		m[strings.ToLower(a[1])] = html.UnescapeString(v)
	}
	return m
}

// parseForms finds the forms of a page; enough HTML for login and consent
// pages, not a general parser.
func parseForms(page string) []*form {
	var out []*form
	for _, fm := range formRE.FindAllStringSubmatch(page, -1) {
		f := &form{action: attrs(fm[1])["action"], values: url.Values{}, buttons: map[string][]string{}, inputs: map[string]bool{}}
		for _, in := range inputRE.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(in[2])
			name := a["name"]
			if name == "" {
				continue
			}
			f.inputs[name] = true
			if strings.EqualFold(in[1], "button") || submitRE.MatchString(a["type"]) {
				f.buttons[name] = append(f.buttons[name], a["value"])
				continue
			}
			f.values.Set(name, a["value"])
		}
		out = append(out, f)
	}
	return out
}

func findLogin(forms []*form) *form {
	for _, f := range forms {
		if f.inputs["user_name"] && f.inputs["user_password"] {
			return f
		}
	}
	return nil
}

func findConsent(forms []*form, action string) *form {
	for _, f := range forms {
		for _, v := range f.buttons["sysparm_action"] {
			if v == action {
				return f
			}
		}
	}
	return nil
}
