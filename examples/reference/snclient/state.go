package snclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"
)

// stateFile is the file in Config.StateDir that keeps the tokens.
const stateFile = "snclient-token.json"

// savedState is what survives a restart. Identity fields make sure tokens
// are only reused for the instance, application, grant and user that got
// them.
type savedState struct {
	InstanceURL  string `json:"instance_url"`
	ClientID     string `json:"client_id"`
	GrantType    string `json:"grant_type"`
	Username     string `json:"username,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// FirstRefresh is kept only for the reuse-superseded-refresh bug.
	FirstRefresh string `json:"first_refresh,omitempty"`
}

func (c *Client) identity() savedState {
	return savedState{InstanceURL: c.cfg.InstanceURL, ClientID: c.cfg.ClientID, GrantType: c.cfg.GrantType, Username: c.cfg.Username}
}

// loadState returns the kept tokens, if any match this configuration.
func (c *Client) loadState() (*oauth2.Token, string, error) {
	if c.cfg.StateDir == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(filepath.Join(c.cfg.StateDir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("snclient: reading kept tokens: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		c.log.Warn("ignoring an unreadable token file", "error", err.Error())
		return nil, "", nil
	}
	id := c.identity()
	if st.InstanceURL != id.InstanceURL || st.ClientID != id.ClientID || st.GrantType != id.GrantType ||
		st.Username != id.Username || st.AccessToken == "" {
		c.log.Info("kept tokens belong to another configuration; ignoring them")
		return nil, "", nil
	}
	return &oauth2.Token{AccessToken: st.AccessToken, RefreshToken: st.RefreshToken, TokenType: "Bearer"}, st.FirstRefresh, nil
}

// saveStateLocked writes the tokens (or removes them when tok is nil)
// atomically, readable only by the owner. c.mu must be held.
func (c *Client) saveStateLocked(tok *oauth2.Token) error {
	if c.cfg.StateDir == "" || c.cfg.Bugs.ForgetTokens {
		return nil
	}
	path := filepath.Join(c.cfg.StateDir, stateFile)
	if tok == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("snclient: forgetting tokens: %w", err)
		}
		return nil
	}
	st := c.identity()
	st.AccessToken, st.RefreshToken, st.FirstRefresh = tok.AccessToken, tok.RefreshToken, c.firstRefresh
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	f, err := os.CreateTemp(c.cfg.StateDir, ".snclient-token-*")
	if err != nil {
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snclient: keeping tokens: %w", err)
	}
	return nil
}
