package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
)

// newSigners builds what signs user certificates and what signs the
// per-session upstream certificates, as signer.type says. target is nil
// when nothing is configured to sign upstream certificates (then no
// target uses a certificate credential: config validation sees to it).
func newSigners(ctx context.Context, cfg *config.Config) (user, target certauth.Signer, err error) {
	if cfg.Signer.Type != config.SignerVault {
		k, err := certauth.LoadKey(cfg.UserCAKey)
		if err != nil {
			return nil, nil, fmt.Errorf("user_ca_key: %w", err)
		}
		user = &certauth.Authority{Signer: k}
		if cfg.TargetCAKey != "" {
			k, err := certauth.LoadKey(cfg.TargetCAKey)
			if err != nil {
				return nil, nil, fmt.Errorf("target_ca_key: %w", err)
			}
			target = &certauth.Authority{Signer: k}
		}
		return user, target, nil
	}
	v := cfg.Signer.Vault
	base := certauth.VaultConfig{Address: v.Address, TokenFile: v.TokenFile, CACert: v.CACert}
	if v.TokenFile == "" {
		if base.Token = os.Getenv("VAULT_TOKEN"); base.Token == "" {
			return nil, nil, fmt.Errorf("signer.vault: no token: set token_file or VAULT_TOKEN")
		}
	}
	uc := base
	uc.Mount, uc.UserRole = v.Mount, v.UserRole
	u, err := certauth.NewVaultSigner(ctx, uc)
	if err != nil {
		return nil, nil, fmt.Errorf("signer.vault.mount %s: %w", v.Mount, err)
	}
	if v.UpstreamRole == "" {
		return u, nil, nil
	}
	tc := base
	tc.Mount, tc.UpstreamRole = v.UpstreamMount, v.UpstreamRole
	t, err := certauth.NewVaultSigner(ctx, tc)
	if err != nil {
		return nil, nil, fmt.Errorf("signer.vault.upstream_mount %s: %w", v.UpstreamMount, err)
	}
	// Config validation keeps the mounts apart; this catches two mounts
	// configured with the same CA key, for the same reason.
	if bytes.Equal(u.PublicKey().Marshal(), t.PublicKey().Marshal()) {
		return nil, nil, fmt.Errorf("signer.vault: mounts %s and %s share one CA key: targets would accept user certificates directly", v.Mount, v.UpstreamMount)
	}
	return u, t, nil
}
