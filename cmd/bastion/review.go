package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/slackreview"
	"github.com/bastion-ssh/bastion/store"
)

// review wires command review: the approvals broker, and Slack when it is
// configured (a poster for new requests, the interactivity endpoint).
type review struct {
	broker  *approvals.Broker
	poster  *slackreview.Poster // nil without Slack
	handler http.Handler        // nil without Slack
}

func newReview(cfg *config.Config, st *store.Store, masked *maskedStore, signing ed25519.PrivateKey, log *slog.Logger) (*review, error) {
	rv := &review{broker: approvals.New(brokerStore{Store: st, masked: masked}, approvalKey(signing))}
	rv.broker.MaskReason = func(reason string) string { return masked.mask(reason, "") }
	if !cfg.Slack.Enabled() {
		return rv, nil
	}
	webhook, secret, err := cfg.Slack.Secrets()
	if err != nil {
		return nil, err
	}
	rv.poster = &slackreview.Poster{WebhookURL: webhook, Audit: st, Log: log.With("component", "slack"),
		ResponseURLPrefixes: cfg.Slack.ResponseURLPrefixes}
	rv.broker.OnRequest, rv.broker.OnClose = rv.poster.Post, rv.poster.Closed
	users := map[string]slackreview.User{}
	for id, u := range cfg.Slack.Users {
		users[id] = slackreview.User{Identity: u.Identity, Groups: u.Groups}
	}
	rv.handler = &slackreview.Handler{Secret: secret, Users: users, Decider: rv.broker, Audit: st, Poster: rv.poster, Replays: st}
	return rv, nil
}

// start ties the poster's retries to ctx.
func (rv *review) start(ctx context.Context) {
	if rv.poster != nil {
		rv.poster.Start(ctx)
	}
}

// close waits for messages in flight.
func (rv *review) close() {
	if rv.poster != nil {
		rv.poster.Close()
	}
}

// withSlack serves Slack's interactivity endpoint beside the certificate
// API on the same HTTPS listener.
func (rv *review) withSlack(api http.Handler) http.Handler {
	if rv.handler == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle(slackreview.Path, rv.handler)
	mux.Handle("/", api)
	return mux
}

// approvalKey derives the key that binds an approval to its exact command
// from the signing key (HMAC-SHA256 as a KDF, like fingerprintKey).
func approvalKey(signing ed25519.PrivateKey) []byte {
	mac := hmac.New(sha256.New, signing.Seed())
	mac.Write([]byte("bastion approval command key v1"))
	return mac.Sum(nil)
}

// brokerStore is the store the approvals broker uses, its audit events
// masked like every other: a request id (BASTION_REQUEST, the desk's
// argument) and a reviewer's reason are free text.
type brokerStore struct {
	*store.Store
	masked *maskedStore
}

func (b brokerStore) Audit(ctx context.Context, e store.Event) error { return b.masked.Audit(ctx, e) }
