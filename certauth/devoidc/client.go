// Portions Copyright The zitadel/oidc Contributors; Apache License 2.0
// (example/server/storage/client.go).

package devoidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client is an OAuth client registered with the provider.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Secret, if empty, makes a public client that may use the device
	// authorization grant (a CLI such as `bastion login`). If set, the
	// client is confidential and uses the client credentials grant.
	Secret string
	// ServiceUser is the subject of the User a client credentials token
	// speaks for; its claims (email, groups) go into the JWT access
	// token. Required when Secret is set.
	ServiceUser string
	// Audience is added to the aud claim of the client's tokens; the
	// client's own ID is always in an ID token's audience.
	Audience []string
}

func (c *Client) confidential() bool { return c.Secret != "" }

// opClient adapts a Client to op.Client.
type opClient struct {
	c        *Client
	lifetime time.Duration
}

var _ op.Client = opClient{}

func (o opClient) GetID() string                    { return o.c.ID }
func (o opClient) RedirectURIs() []string           { return nil }
func (o opClient) PostLogoutRedirectURIs() []string { return nil }
func (o opClient) LoginURL(string) string           { return "" }
func (o opClient) IDTokenLifetime() time.Duration   { return o.lifetime }
func (o opClient) DevMode() bool                    { return false }
func (o opClient) ClockSkew() time.Duration         { return 0 }
func (o opClient) IsScopeAllowed(s string) bool     { return s == scopeGroups }

// IDTokenUserinfoClaimsAssertion puts email and groups into the ID token
// even though an access token is issued with it: `bastion login` sends
// only the ID token to the bastion.
func (o opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (o opClient) ApplicationType() op.ApplicationType {
	if o.c.confidential() {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeNative
}

func (o opClient) AuthMethod() oidc.AuthMethod {
	if o.c.confidential() {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}

func (o opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (o opClient) GrantTypes() []oidc.GrantType {
	if o.c.confidential() {
		return []oidc.GrantType{oidc.GrantTypeClientCredentials}
	}
	return []oidc.GrantType{oidc.GrantTypeDeviceCode}
}

// AccessTokenType is JWT for service clients: their access token is what
// they present to the bastion.
func (o opClient) AccessTokenType() op.AccessTokenType {
	if o.c.confidential() {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}

func (o opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (o opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
