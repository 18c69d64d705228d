package fakesn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// golang.org/x/oauth2, unmodified, against the fake. It is lenient and
// stamps expiry with the wall clock, so these tests show it works; the
// wire itself is checked in oauth_token_test.go.

func oauth2Config(base, id, secret string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: oaRedirect, Scopes: []string{"useraccount"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth_auth.do", TokenURL: base + "/oauth_token.do", AuthStyle: style},
	}
}

func oauth2Ctx(c *http.Client) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, c)
}

func wantOAuth2Token(t *testing.T, tok *oauth2.Token, wantRefresh bool) {
	t.Helper()
	if !tokenShape.MatchString(tok.AccessToken) || tok.TokenType != "Bearer" {
		t.Errorf("token: access %q type %q", tok.AccessToken, tok.TokenType)
	}
	if wantRefresh != tokenShape.MatchString(tok.RefreshToken) {
		t.Errorf("refresh token %q, want one: %v", tok.RefreshToken, wantRefresh)
	}
	if d := time.Until(tok.Expiry); d < 1790*time.Second || d > 1800*time.Second {
		t.Errorf("expiry in %v, want about 1799 s", d)
	}
	if got := tok.Extra("scope"); got != "useraccount" {
		t.Errorf("scope = %v", got)
	}
}

func TestOAuth2ClientPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		style      oauth2.AuthStyle
		clientAuth string
	}{
		{name: "credentials in the body", style: oauth2.AuthStyleInParams, clientAuth: "form"},
		{name: "credentials in Basic", style: oauth2.AuthStyleInHeader, clientAuth: "basic"},
		{name: "auto-detect", style: oauth2.AuthStyleAutoDetect, clientAuth: "basic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
				conf := oauth2Config(base, oaClientID, oaSecret, tc.style)
				tok, err := conf.PasswordCredentialsToken(oauth2Ctx(c), "admin", "admin")
				if err != nil {
					t.Fatalf("PasswordCredentialsToken: %v", err)
				}
				wantOAuth2Token(t, tok, true)
				wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "password", ClientID: oaClientID,
					ClientAuth: tc.clientAuth, User: "admin", IssuedAccess: Fingerprint(tok.AccessToken),
					IssuedRefresh: Fingerprint(tok.RefreshToken), Status: 200})

				_, err = conf.PasswordCredentialsToken(oauth2Ctx(c), "admin", "wrong")
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "server_error" || re.ErrorDescription != "access_denied" {
					t.Errorf("wrong password: %v, want a RetrieveError 401 server_error/access_denied", err)
				}
			})
		})
	}
}

func TestOAuth2ClientRefresh(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		ctx := oauth2Ctx(c)
		conf := oauth2Config(base, oaClientID, oaSecret, oauth2.AuthStyleInParams)
		tok, err := conf.PasswordCredentialsToken(ctx, "admin", "admin")
		if err != nil {
			t.Fatal(err)
		}
		// x/oauth2 uses the wall clock: expire the token on both sides.
		oaAdvance(t, s, 1800*time.Second)
		tok.Expiry = time.Now().Add(-time.Minute)
		ts := conf.TokenSource(ctx, tok)
		next, err := ts.Token()
		if err != nil {
			t.Fatalf("refresh through TokenSource: %v", err)
		}
		if next.AccessToken == tok.AccessToken || next.RefreshToken != tok.RefreshToken {
			t.Errorf("refresh: new access %v, same refresh %v; want true, true",
				next.AccessToken != tok.AccessToken, next.RefreshToken == tok.RefreshToken)
		}
		e := oaLast(t, s, "oauth_token")
		if e.GrantType != "refresh_token" || e.Token != Fingerprint(tok.RefreshToken) {
			t.Errorf("journal: %q %q", e.GrantType, e.Token)
		}
		// The client sends the new token as Bearer.
		req, _ := http.NewRequest(http.MethodGet, base+oaTablePath, nil)
		if _, err := oauth2.NewClient(ctx, ts).Do(req); err != nil {
			t.Fatal(err)
		}
		if e := oaLast(t, s, "table"); e.AuthKind != "bearer" || e.Token != Fingerprint(next.AccessToken) {
			t.Errorf("Table API call: auth %q token %q", e.AuthKind, e.Token)
		}

		// Past the refresh token's lifespan the refresh fails with the
		// instance's 401.
		oaAdvance(t, s, 8640000*time.Second)
		next.Expiry = time.Now().Add(-time.Minute)
		_, err = conf.TokenSource(ctx, next).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "server_error" {
			t.Errorf("expired refresh: %v, want a RetrieveError 401 server_error", err)
		}
	})
}

func TestOAuth2ClientCredentials(t *testing.T) {
	t.Parallel()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		t.Run(map[oauth2.AuthStyle]string{oauth2.AuthStyleInParams: "body", oauth2.AuthStyleInHeader: "basic"}[style], func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
				conf := clientcredentials.Config{ClientID: oaClientID, ClientSecret: oaSecret,
					TokenURL: base + "/oauth_token.do", AuthStyle: style}
				tok, err := conf.Token(oauth2Ctx(c))
				if err != nil {
					t.Fatalf("client credentials: %v", err)
				}
				wantOAuth2Token(t, tok, false)
				if e := oaLast(t, s, "oauth_token"); e.GrantType != "client_credentials" || e.User != "sncheck.integration" {
					t.Errorf("journal: %q %q", e.GrantType, e.User)
				}
			})
		})
	}
}

// browse plays the user's browser from an authorization URL to the
// redirect back to the client: login as admin, then Allow.
func browse(t *testing.T, c *http.Client, base, authURL string) (code, state string) {
	t.Helper()
	if !strings.HasPrefix(authURL, base+"/oauth_auth.do?") {
		t.Fatalf("AuthCodeURL = %s", authURL)
	}
	loc := authorizeAs(t, c, base, authURL, "admin", "admin")
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestOAuth2ClientAuthorizationCode(t *testing.T) {
	t.Parallel()
	t.Run("confidential client", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			ctx := oauth2Ctx(c)
			conf := oauth2Config(base, oaClientID, oaSecret, oauth2.AuthStyleAutoDetect)
			code, state := browse(t, c, base, conf.AuthCodeURL("st-1"))
			if state != "st-1" {
				t.Errorf("state = %q", state)
			}
			tok, err := conf.Exchange(ctx, code)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			wantOAuth2Token(t, tok, true)
			if _, err := conf.Exchange(ctx, code); err == nil {
				t.Errorf("a code worked twice")
			}
		})
	})
	t.Run("confidential client with PKCE", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			ctx := oauth2Ctx(c)
			conf := oauth2Config(base, oaClientID, oaSecret, oauth2.AuthStyleInParams)
			verifier := oauth2.GenerateVerifier()
			code, _ := browse(t, c, base, conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)))
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			wantOAuth2Token(t, tok, true)
		})
	})
	t.Run("public client with PKCE", func(t *testing.T) {
		t.Parallel()
		opts := oaOpts(func(o *Options) { o.Apps = []App{{ClientID: "pub", Public: true, RedirectURLs: []string{oaRedirect}}} })
		forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
			ctx := oauth2Ctx(c)
			conf := oauth2Config(base, "pub", "", oauth2.AuthStyleAutoDetect)
			verifier := oauth2.GenerateVerifier()
			code, _ := browse(t, c, base, conf.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier)))
			if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption("wrong-"+verifier)); err == nil {
				t.Fatalf("a wrong verifier was accepted")
			}
			code, _ = browse(t, c, base, conf.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier)))
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			wantOAuth2Token(t, tok, true)
			if e := oaLast(t, s, "oauth_token"); e.ClientAuth != "none" || e.ClientID != "pub" {
				t.Errorf("journal: client %q auth %q", e.ClientID, e.ClientAuth)
			}
			// The authorization URL x/oauth2 built carried the PKCE pair.
			u, _ := url.Parse(conf.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier)))
			if u.Query().Get("code_challenge_method") != "S256" {
				t.Errorf("AuthCodeURL: %s", u)
			}
		})
	})
}
