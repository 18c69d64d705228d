package fakesn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// storeIndexes are the lookups on hot paths.
var storeIndexes = map[string][]string{
	"oauth_credential": {"token"},
	"sys_user":         {"user_name"},
	"oauth_entity":     {"client_id"},
	"sys_properties":   {"name"},
	"sys_auth_scope":   {"name"},
	"sys_user_role":    {"name"},
}

// internalTables are tables the fake needs that the seed need not define.
// oauth_credential holds tokens and codes by fingerprint only, never the
// secret itself, so the journal, a snapshot or the data directory cannot
// leak one.
var internalTables = []fixtures.Table{{
	Name: "oauth_credential", Label: "OAuth Credential", Display: "type",
	Fields: []fixtures.Field{
		{Name: "token", Label: "Token fingerprint", Type: "string"},
		{Name: "type", Label: "Token type", Type: "choice", Choices: []fixtures.Choice{
			{Value: "access_token", Label: "Access Token"}, {Value: "refresh_token", Label: "Refresh Token"},
			{Value: "authorization_code", Label: "Authorization Code"}}},
		{Name: "client", Label: "Application", Type: "reference", Reference: "oauth_entity"},
		{Name: "user", Label: "User", Type: "reference", Reference: "sys_user"},
		{Name: "expires", Label: "Expires", Type: "glide_date_time"},
		{Name: "scopes", Label: "Scopes", Type: "string"},
		{Name: "u_expires_ms", Label: "Expires (Unix ms)", Type: "integer"},
		{Name: "u_issued_ms", Label: "Issued (Unix ms)", Type: "integer"},
		{Name: "u_status", Label: "Status", Type: "string"}, // active, revoked, superseded
		{Name: "u_superseded_ms", Label: "Superseded (Unix ms)", Type: "integer"},
		{Name: "u_refresh", Label: "Refresh token", Type: "reference", Reference: "oauth_credential"},
		{Name: "u_redirect_uri", Label: "Redirect URI", Type: "string"},
		{Name: "u_code_challenge", Label: "Code challenge", Type: "string"},
		{Name: "u_code_challenge_method", Label: "Code challenge method", Type: "string"},
		{Name: "u_grant_type", Label: "Grant type", Type: "string"},
	},
}}

// buildSeed assembles the starting state from Options: the seed, the config
// file, then Users, Apps and Properties.
func buildSeed(opts Options) (*fixtures.Seed, error) {
	seed := opts.Seed
	if seed == nil {
		var err error
		if seed, err = fixtures.Default(); err != nil {
			return nil, fmt.Errorf("fakesn: %w", err)
		}
	} else {
		seed = cloneSeed(seed)
	}
	if opts.Config != nil {
		seed.Merge(opts.Config) // Merge copies what it takes
	}
	have := map[string]bool{}
	for _, t := range seed.Tables {
		have[t.Name] = true
	}
	for _, t := range internalTables {
		if !have[t.Name] {
			seed.Tables = append(seed.Tables, t)
		}
	}
	// The default seed alone (fixtures validates it at test time) plus the
	// fixed internal tables needs no validation here: TestDefaultSeedValidates
	// checks that pair, and skipping it keeps `sncheck serve`'s start-up short.
	if opts.Seed == nil && opts.Config == nil && len(opts.Users) == 0 && len(opts.Apps) == 0 && len(opts.Properties) == 0 {
		return seed, nil
	}
	extra := &fixtures.Seed{}
	ids := seedIDs(seed)
	for _, u := range opts.Users {
		if u.UserName == "" {
			return nil, fmt.Errorf("fakesn: Options.Users: a user needs a UserName")
		}
		rows := userRows(u, ids)
		dropRows(seed, "sys_user_has_role", "user", rows[0].Records[0]["sys_id"])
		extra.Rows = append(extra.Rows, rows...)
	}
	// Apps may name a user added just above as their application user.
	seed.Merge(extra)
	extra = &fixtures.Seed{}
	for _, a := range opts.Apps {
		if a.ClientID == "" {
			return nil, fmt.Errorf("fakesn: Options.Apps: an app needs a ClientID")
		}
		if a.ClientSecret == "" && !a.Public {
			return nil, fmt.Errorf("fakesn: Options.Apps: app %q needs a ClientSecret or Public", a.ClientID)
		}
		rows := appRows(a, ids)
		dropRows(seed, "oauth_entity_auth_scope", "oauth_entity", rows[0].Records[0]["sys_id"])
		extra.Rows = append(extra.Rows, rows...)
	}
	for name, value := range opts.Properties {
		id := ids.lookup("sys_properties", "name", name)
		extra.Rows = append(extra.Rows, fixtures.Rows{Table: "sys_properties", Records: []map[string]string{
			{"sys_id": id, "name": name, "value": value, "type": "string"},
		}})
	}
	seed.Merge(extra)
	if err := seed.Validate(); err != nil {
		return nil, fmt.Errorf("fakesn: %w", err)
	}
	return seed, nil
}

func cloneSeed(s *fixtures.Seed) *fixtures.Seed {
	c := &fixtures.Seed{}
	c.Merge(s)
	return c
}

// seedIDIndex finds existing rows by a field so that Options replace records
// instead of duplicating them.
type seedIDIndex struct{ seed *fixtures.Seed }

func seedIDs(s *fixtures.Seed) seedIDIndex { return seedIDIndex{s} }

func (x seedIDIndex) lookup(table, field, value string) string {
	for _, rows := range x.seed.Rows {
		if rows.Table != table {
			continue
		}
		for _, r := range rows.Records {
			if r[field] == value && r["sys_id"] != "" {
				return r["sys_id"]
			}
		}
	}
	return store.NewSysID()
}

func boolString(b bool) string { return strconv.FormatBool(b) }

func userRows(u User, ids seedIDIndex) []fixtures.Rows {
	id := u.SysID
	if id == "" {
		id = ids.lookup("sys_user", "user_name", u.UserName)
	}
	name := u.Name
	if name == "" {
		name = u.UserName
	}
	user := map[string]string{
		"sys_id": id, "user_name": u.UserName, "name": name, "email": u.Email,
		"user_password": u.Password, "active": boolString(!u.Inactive),
		"locked_out": boolString(u.LockedOut), "web_service_access_only": boolString(u.WebServiceAccessOnly),
		"password_needs_reset": boolString(u.PasswordNeedsReset),
	}
	out := []fixtures.Rows{{Table: "sys_user", Records: []map[string]string{user}}}
	for _, role := range u.Roles {
		roleID := ids.lookup("sys_user_role", "name", role)
		out = append(out,
			fixtures.Rows{Table: "sys_user_role", Records: []map[string]string{{"sys_id": roleID, "name": role}}},
			fixtures.Rows{Table: "sys_user_has_role", Records: []map[string]string{{"sys_id": store.NewSysID(), "user": id, "role": roleID}}})
	}
	return out
}

func appRows(a App, ids seedIDIndex) []fixtures.Rows {
	id := a.SysID
	if id == "" {
		id = ids.lookup("oauth_entity", "client_id", a.ClientID)
	}
	name := a.Name
	if name == "" {
		name = a.ClientID
	}
	secs := func(d, def int64) string {
		if d <= 0 {
			return strconv.FormatInt(def, 10)
		}
		return strconv.FormatInt(d, 10)
	}
	entity := map[string]string{
		"sys_id": id, "name": name, "client_id": a.ClientID, "client_secret": a.ClientSecret,
		"redirect_url":           strings.Join(a.RedirectURLs, ","),
		"access_token_lifespan":  secs(int64(a.AccessTokenLifespan.Seconds()), 1800),
		"refresh_token_lifespan": secs(int64(a.RefreshTokenLifespan.Seconds()), 8640000),
		"u_code_lifespan":        secs(int64(a.CodeLifespan.Seconds()), 600),
		"active":                 boolString(!a.Inactive), "public_client": boolString(a.Public),
		"u_grant_types": strings.Join(a.GrantTypes, ","), "u_auto_approve": boolString(a.AutoApprove),
		"type": "client", "token_format": "opaque",
	}
	if a.ApplicationUser != "" {
		entity["oauth_application_user"] = ids.lookup("sys_user", "user_name", a.ApplicationUser)
	}
	out := []fixtures.Rows{{Table: "oauth_entity", Records: []map[string]string{entity}}}
	scopes := a.Scopes
	if scopes == nil {
		scopes = []string{"useraccount"}
	}
	for _, sc := range scopes {
		scID := ids.lookup("sys_auth_scope", "name", sc)
		out = append(out,
			fixtures.Rows{Table: "sys_auth_scope", Records: []map[string]string{{"sys_id": scID, "name": sc}}},
			fixtures.Rows{Table: "oauth_entity_auth_scope", Records: []map[string]string{{"sys_id": store.NewSysID(), "oauth_entity": id, "auth_scope": scID}}})
	}
	return out
}

// dropRows removes rows of table whose field equals value, so that Options
// replace a record's links instead of adding to them.
func dropRows(seed *fixtures.Seed, table, field, value string) {
	for i := range seed.Rows {
		if seed.Rows[i].Table != table {
			continue
		}
		kept := seed.Rows[i].Records[:0]
		for _, r := range seed.Rows[i].Records {
			if r[field] != value {
				kept = append(kept, r)
			}
		}
		seed.Rows[i].Records = kept
	}
}
