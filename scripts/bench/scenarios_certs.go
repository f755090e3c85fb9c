package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// certScenario signs user certificates in-process on one goroutine (one
// core) for a fixed time. The HTTP API that will serve them does not exist
// yet, so it has no row of its own beyond "n/a".
func (b *bench) certScenario(ctx context.Context, _ []side) error {
	rate, err := signRate(ctx, b.opt.certTime)
	if err != nil {
		return err
	}
	b.res.add("certs.inprocess", viaBastion, rate)
	logf(b.opt.log, "%-40s %-7s %8.0f certificates/s", "certificate issuance (1 core)", viaBastion, rate)
	return nil
}

func signRate(ctx context.Context, d time.Duration) (float64, error) {
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return 0, err
	}
	ca, err := ssh.NewSignerFromKey(caKey)
	if err != nil {
		return 0, err
	}
	userPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return 0, err
	}
	pub, err := ssh.NewPublicKey(userPub)
	if err != nil {
		return 0, err
	}
	a := &certauth.Authority{Signer: ca}
	req := certauth.UserRequest{PublicKey: pub, Identity: identity, Groups: []string{"ops"}}
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		if _, err := a.SignUser(req); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}
