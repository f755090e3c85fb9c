package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// certScenario measures certificate issuance twice: signing in-process on
// one goroutine (one core) for a fixed time, and the bastion's HTTP API
// (token verification, signing, audit record) under concurrent clients
// for a fixed number of certificates.
func (b *bench) certScenario(ctx context.Context, _ []side) error {
	rate, err := signRate(ctx, b.opt.certTime)
	if err != nil {
		return err
	}
	b.res.add("certs.inprocess", viaBastion, rate)
	logf(b.opt.log, "%-40s %-7s %8.0f certificates/s", "certificate issuance (1 core)", viaBastion, rate)

	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return err
	}
	cpu0, err := b.serverCPU(viaBastion)
	if err != nil {
		return err
	}
	rate, err = b.e.issueRate(ctx, b.opt.certClients, b.opt.certRequests)
	if err != nil {
		return err
	}
	cpu1, err := b.serverCPU(viaBastion)
	if err != nil {
		return err
	}
	n := b.opt.certRequests + b.opt.certClients // the timed requests and one per client before
	b.res.add("certs.http", viaBastion, rate)
	logf(b.opt.log, "%-40s %-7s %8.0f certificates/s  %.2f bastion CPU ms each", "certificate issuance (HTTP API)", viaBastion, rate,
		float64((cpu1-cpu0).Microseconds())/1000/float64(n))
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
