package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
)

func TestIntegrationConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	cfg := IntegrationConfig{
		InstanceURL: "http://127.0.0.1:9", ClientID: "cid", ClientSecret: "s3cr3t-client",
		Username: "admin", Password: "pa55word", GrantType: GrantPassword, StateDir: "/tmp/x",
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%s", &cfg), fmt.Sprintf("%+v", &cfg), string(js),
	} {
		if strings.Contains(out, "s3cr3t-client") || strings.Contains(out, "pa55word") {
			t.Errorf("a secret shows in %q", out)
		}
		if !strings.Contains(out, "cid") || !strings.Contains(out, "REDACTED") {
			t.Errorf("%q should show the client id and REDACTED", out)
		}
	}
	var m map[string]string
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"instance_url": "http://127.0.0.1:9", "client_id": "cid", "client_secret": "REDACTED",
		"username": "admin", "password": "REDACTED", "grant_type": "password", "redirect_uri": "", "state_dir": "/tmp/x",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("MarshalJSON (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s3cr3t-client", "pa55word"}, cfg.Secrets()); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
}

func TestDriverError(t *testing.T) {
	t.Parallel()
	err := error(&DriverError{Kind: KindInsufficientScope, Message: "Missing required api access scope: incident_read"})
	if got, want := err.Error(), "harness: insufficient_scope: Missing required api access scope: incident_read"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("list: %w", err)
	if KindOf(wrapped) != KindInsufficientScope || KindOf(errors.New("x")) != "" {
		t.Errorf("KindOf does not see through wrapping")
	}
	cause := transportError(context.DeadlineExceeded, "no answer")
	if !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("a transport error does not unwrap to its cause")
	}
	for _, k := range ErrorKinds() {
		if !k.Valid() {
			t.Errorf("%s is not Valid", k)
		}
	}
	if len(ErrorKinds()) != 8 || ErrorKind("teapot").Valid() || ErrorKind("").Valid() {
		t.Errorf("the kind set is not the protocol's eight")
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"SN_INSTANCE_URL": "http://127.0.0.1:9/", "SN_CLIENT_ID": "cid", "SN_CLIENT_SECRET": "sec",
		"SN_USERNAME": "admin", "SN_PASSWORD": "pw", "SN_GRANT_TYPE": "password",
		"SN_REDIRECT_URI": "http://localhost:8765/callback", "SN_STATE_DIR": "/state",
	}
	tests := []struct {
		name    string
		set     map[string]string
		want    IntegrationConfig
		wantErr string
	}{
		{name: "password", want: IntegrationConfig{InstanceURL: "http://127.0.0.1:9", ClientID: "cid", ClientSecret: "sec",
			Username: "admin", Password: "pw", GrantType: "password", RedirectURI: "http://localhost:8765/callback", StateDir: "/state"}},
		{name: "protocol named", set: map[string]string{"SNCHECK_DRIVER_PROTOCOL": "sncheck-driver/1", "SN_GRANT_TYPE": "client_credentials", "SN_USERNAME": "", "SN_PASSWORD": ""},
			want: IntegrationConfig{InstanceURL: "http://127.0.0.1:9", ClientID: "cid", ClientSecret: "sec",
				GrantType: "client_credentials", RedirectURI: "http://localhost:8765/callback", StateDir: "/state"}},
		{name: "other protocol", set: map[string]string{"SNCHECK_DRIVER_PROTOCOL": "sncheck-driver/2"}, wantErr: `SNCHECK_DRIVER_PROTOCOL="sncheck-driver/2"; this adapter speaks sncheck-driver/1`},
		{name: "unknown grant", set: map[string]string{"SN_GRANT_TYPE": "implicit"}, wantErr: `SN_GRANT_TYPE="implicit" is not password, authorization_code or client_credentials`},
		{name: "missing password", set: map[string]string{"SN_PASSWORD": "", "SN_INSTANCE_URL": ""}, wantErr: "missing SN_INSTANCE_URL, SN_PASSWORD for the password grant"},
		{name: "client credentials without secret", set: map[string]string{"SN_GRANT_TYPE": "client_credentials", "SN_CLIENT_SECRET": ""}, wantErr: "missing SN_CLIENT_SECRET"},
		{name: "authorization code without redirect", set: map[string]string{"SN_GRANT_TYPE": "authorization_code", "SN_REDIRECT_URI": ""}, wantErr: "missing SN_REDIRECT_URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ConfigFromEnv(func(k string) string {
				if v, ok := tc.set[k]; ok {
					return v
				}
				return base[k]
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "sec") && !strings.Contains(tc.wantErr, "SECRET") {
					t.Errorf("error %q shows a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ConfigFromEnv = %#v, want %#v (secrets compared too)", got, tc.want)
			}
		})
	}
}

// blockingIntegration answers get only once release is closed.
type blockingIntegration struct {
	memIntegration
	release chan struct{}
}

func (b *blockingIntegration) Get(ctx context.Context, table, sysID string) (Record, error) {
	if sysID == "slow" {
		<-b.release
	}
	return Record{"sys_id": sysID}, nil
}

func (b *blockingIntegration) List(context.Context, string, string, []string) ([]Record, error) {
	panic("list exploded")
}

func TestServeDriver(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	integ := &blockingIntegration{release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- ServeDriver(context.Background(), integ, inR, outW); outW.Close() }()
	answers := bufio.NewScanner(outR)
	send := func(s string) {
		if _, err := io.WriteString(inW, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		if !answers.Scan() {
			t.Fatalf("no answer: %v", answers.Err())
		}
		return answers.Text()
	}
	// The slow request is answered after the fast one sent later.
	send(`{"id":1,"op":"get","table":"incident","sys_id":"slow"}`)
	send(`{"id":2,"op":"get","table":"incident","sys_id":"fast"}`)
	if got, want := next(), `{"id":2,"ok":true,"result":{"sys_id":"fast"}}`; got != want {
		t.Errorf("first answer = %s, want %s", got, want)
	}
	close(integ.release)
	if got, want := next(), `{"id":1,"ok":true,"result":{"sys_id":"slow"}}`; got != want {
		t.Errorf("second answer = %s, want %s", got, want)
	}
	tests := []struct{ req, want string }{
		{`{"id":3,"op":"connect"}`, `{"id":3,"ok":true,"result":{}}`},
		{`{"id":4,"op":"callback","url":""}`, `{"id":4,"ok":false,"error":{"kind":"invalid_request","message":"no url"}}`},
		{`{"id":5,"op":"teleport"}`, `{"id":5,"ok":false,"error":{"kind":"invalid_request","message":"unknown op \"teleport\""}}`},
		{`{"id":6,"op":"list","table":"incident"}`, `{"id":6,"ok":false,"error":{"kind":"transport","message":"integration panicked: list exploded"}}`},
		{`{"id":7,"op":"delete","table":"incident","sys_id":"nope"}`, `{"id":7,"ok":false,"error":{"kind":"not_found","message":"No Record found"}}`},
		{`not json`, `{"id":0,"ok":false,"error":{"kind":"invalid_request","message":"request is not valid JSON: invalid character 'o' in literal null (expecting 'u')"}}`},
		{`{"id":8,"op":"create","table":"incident","record":{"a":"b"}}`, `{"id":8,"ok":true,"result":{"a":"b","sys_id":"00000000000000000000000000000001"}}`},
	}
	for _, tc := range tests {
		send(tc.req)
		if got := next(); got != tc.want {
			t.Errorf("%s\n answered %s\n want     %s", tc.req, got, tc.want)
		}
	}
	send(`{"id":9,"op":"shutdown"}`)
	if got, want := next(), `{"id":9,"ok":true,"result":{}}`; got != want {
		t.Errorf("shutdown answered %s, want %s", got, want)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeDriver = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeDriver did not return after shutdown")
	}
	if !integ.closed {
		t.Errorf("the integration was not closed")
	}
}

func TestServeDriverEndOfInput(t *testing.T) {
	t.Parallel()
	integ := &memIntegration{}
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	err := ServeDriver(context.Background(), integ, strings.NewReader(`{"id":1,"op":"connect"}`+"\n"), w)
	if err != nil || out.String() != `{"id":1,"ok":true,"result":{}}`+"\n" || !integ.closed {
		t.Errorf("ServeDriver = %v, wrote %q, closed %v", err, out.String(), integ.closed)
	}
	long := strings.Repeat("x", MaxLineSize+1)
	if err := ServeDriver(context.Background(), &memIntegration{}, strings.NewReader(long), io.Discard); err == nil {
		t.Errorf("ServeDriver accepted a line over %d bytes", MaxLineSize)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestAuthorizeAsUser(t *testing.T) {
	t.Parallel()
	srv := StartFake(t, fakesn.Options{Clock: fakesn.NewFakeClock(time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC))})
	ctx := context.Background()
	authURL := srv.URL() + "/oauth_auth.do?" + url.Values{
		"response_type": {"code"}, "client_id": {"sncheck-client"},
		"redirect_uri": {"http://localhost:8765/callback"}, "state": {"st<&>ate"},
	}.Encode()
	redirect, err := AuthorizeAsUser(ctx, srv.Client(), authURL, "itil", "itil")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "localhost:8765" || u.Path != "/callback" || u.Query().Get("state") != "st<&>ate" || len(u.Query().Get("code")) < 20 {
		t.Errorf("redirect = %s", redirect)
	}
	_, err = AuthorizeAsUser(ctx, srv.Client(), authURL, "itil", "wrong")
	if err == nil || !strings.Contains(err.Error(), "User name or password invalid") {
		t.Errorf("wrong password: %v", err)
	}
	_, err = AuthorizeAsUser(ctx, srv.Client(), srv.URL()+"/oauth_auth.do?response_type=code&client_id=nobody&state=x", "itil", "itil")
	if err == nil || !strings.Contains(err.Error(), "Invalid client_id") {
		t.Errorf("unknown client: %v", err)
	}
}
