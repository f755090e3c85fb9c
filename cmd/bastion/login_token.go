package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Bounds of talking to the identity provider.
const (
	discoveryTimeout = 15 * time.Second
	tokenTimeout     = 30 * time.Second
	// maxTokenFileBytes bounds a --token-file.
	maxTokenFileBytes = 64 << 10
)

// defaultLoginClientID is the client id `bastion login` registers under
// at the identity provider when --client-id is not given.
const defaultLoginClientID = "bastion"

// tokenSource obtains the token presented to the certificate API.
type tokenSource func(ctx context.Context) (string, error)

// fileToken reads a token file (re-read on each run: a workload identity
// agent rotates it in place).
func fileToken(path string) tokenSource {
	return func(context.Context) (string, error) {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		if len(b) > maxTokenFileBytes {
			return "", fmt.Errorf("token file %s: larger than %d bytes", path, maxTokenFileBytes)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty", path)
		}
		return tok, nil
	}
}

// discover reads the issuer's endpoints from its discovery document.
func discover(ctx context.Context, issuer string, client *http.Client) (oauth2.Endpoint, error) {
	if issuer == "" {
		return oauth2.Endpoint{}, usagef("login: --issuer (or $BASTION_ISSUER) is required")
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("identity provider %s: %w", issuer, err)
	}
	return p.Endpoint(), nil
}

// clientCredentialsToken runs the OAuth 2.0 client credentials grant
// (RFC 6749 section 4.4) and returns the access token, which must be a
// JWT the bastion can verify offline.
func clientCredentialsToken(issuer, clientID, secret string, scopes []string, client *http.Client) tokenSource {
	return func(ctx context.Context) (string, error) {
		if clientID == "" || secret == "" {
			return "", usagef("login: --client-credentials needs $BASTION_CLIENT_ID and $BASTION_CLIENT_SECRET")
		}
		ep, err := discover(ctx, issuer, client)
		if err != nil {
			return "", err
		}
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: ep.TokenURL, Scopes: scopes}
		ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, client), tokenTimeout)
		defer cancel()
		tok, err := cc.Token(ctx)
		if err != nil {
			return "", fmt.Errorf("client credentials: %w", err)
		}
		if strings.Count(tok.AccessToken, ".") != 2 {
			return "", errors.New("client credentials: the access token is not a JWT; configure the identity provider to issue JWT access tokens for this client")
		}
		return tok.AccessToken, nil
	}
}

// deviceToken runs the device authorization grant (RFC 8628): print where
// to approve, poll until approved, and return the ID token.
func deviceToken(issuer, clientID string, scopes []string, client *http.Client, prompt io.Writer) tokenSource {
	return func(ctx context.Context) (string, error) {
		ep, err := discover(ctx, issuer, client)
		if err != nil {
			return "", err
		}
		if ep.DeviceAuthURL == "" {
			return "", fmt.Errorf("identity provider %s offers no device authorization endpoint", issuer)
		}
		// A public client: the client id goes in the form, with no secret.
		ep.AuthStyle = oauth2.AuthStyleInParams
		conf := &oauth2.Config{ClientID: clientID, Endpoint: ep, Scopes: scopes}
		ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
		da, err := conf.DeviceAuth(ctx)
		if err != nil {
			return "", fmt.Errorf("device authorization: %w", err)
		}
		fmt.Fprintf(prompt, "To log in, open %s\nand enter the code: %s\n", da.VerificationURI, da.UserCode)
		if da.VerificationURIComplete != "" {
			fmt.Fprintf(prompt, "(or open %s)\n", da.VerificationURIComplete)
		}
		fmt.Fprintln(prompt, "Waiting for approval...")
		// DeviceAccessToken polls at the provider's interval and stops at
		// the device code's expiry.
		tok, err := conf.DeviceAccessToken(ctx, da)
		if err != nil {
			return "", fmt.Errorf("device login: %w", err)
		}
		id, _ := tok.Extra("id_token").(string)
		if id == "" {
			return "", errors.New("device login: the identity provider returned no ID token (is the openid scope allowed?)")
		}
		return id, nil
	}
}
