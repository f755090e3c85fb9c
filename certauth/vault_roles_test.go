package certauth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The roles README.md's Vault section documents: a user role and an
// upstream role on two mounts, listing exactly the extensions the
// bastion sets (and the permit-* ones), no default critical options, and
// a max_ttl that fits the issuer's.
var (
	documentedUserRole = vaultRole{
		AllowedUsers: []string{"*"},
		AllowedExtensions: []string{"permit-pty", "permit-port-forwarding", "permit-agent-forwarding",
			"permit-X11-forwarding", "permit-user-rc", ExtIdentity, ExtGroups, ExtIssuedAt},
		AllowUserKeyIDs: true,
		MaxTTL:          time.Hour,
	}
	documentedUpstreamRole = vaultRole{
		AllowedUsers:      []string{"*"},
		AllowedExtensions: []string{"permit-pty", "permit-port-forwarding", "permit-agent-forwarding"},
		AllowUserKeyIDs:   true,
		MaxTTL:            10 * time.Minute,
	}
)

func twoMounts(user, upstream vaultRole) map[string]map[string]vaultRole {
	return map[string]map[string]vaultRole{
		standInMount:       {standInRole: user},
		standInTargetMount: {standInTargetRole: upstream},
	}
}

// signBoth signs a user certificate on the user mount and an upstream
// certificate on the target mount, as the product's two signers do.
func signBoth(t *testing.T, s *vaultStandIn, userRole string) (userErr, upErr error) {
	t.Helper()
	user := standInSigner(t, s, VaultConfig{Mount: standInMount, UserRole: userRole})
	up := standInSigner(t, s, VaultConfig{Mount: standInTargetMount, UpstreamRole: standInTargetRole})
	if keysEqual(user.PublicKey(), up.PublicKey()) {
		t.Fatal("the two mounts share a CA key")
	}
	_, userErr = user.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com",
		Groups: []string{"ops"}, TTL: 15 * time.Minute})
	_, upErr = up.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "s-1"})
	return userErr, upErr
}

func TestVaultDocumentedRolesSign(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{mounts: twoMounts(documentedUserRole, documentedUpstreamRole)})
	if userErr, upErr := signBoth(t, s, standInRole); userErr != nil || upErr != nil {
		t.Fatalf("documented roles: user %v, upstream %v", userErr, upErr)
	}
}

// Each misconfiguration of the user role fails the way it does against a
// real Vault: refused by Vault, or a certificate the bastion refuses to
// hand out because it is not what was asked for.
func TestVaultRoleMisconfigurations(t *testing.T) {
	for _, c := range []struct {
		name     string
		role     func(*vaultRole)
		roleName string
		want     error
		text     string
	}{
		{name: "unknown-role", roleName: "bastion-usr", want: ErrSignerRefused, text: "unknown role"},
		{name: "key-ids-not-allowed", role: func(r *vaultRole) { r.AllowUserKeyIDs = false }, want: ErrSignerMismatch, text: "key"},
		{name: "bastion-extensions-not-listed", role: func(r *vaultRole) { r.AllowedExtensions = []string{"permit-pty"} },
			want: ErrSignerRefused, text: "not on allowed list"},
		{name: "no-extensions-allowed", role: func(r *vaultRole) { r.AllowedExtensions = nil }, want: ErrSignerRefused, text: "not on allowed list"},
		{name: "principal-not-allowed", role: func(r *vaultRole) { r.AllowedUsers = []string{"postgres"} },
			want: ErrSignerRefused, text: "valid_principals"},
		{name: "ttl-above-max-ttl", role: func(r *vaultRole) { r.MaxTTL = 5 * time.Minute }, want: ErrSignerRefused, text: "ttl is larger"},
		{name: "default-critical-options", role: func(r *vaultRole) { r.DefaultCriticalOptions = map[string]string{"force-command": "/bin/true"} },
			want: ErrSignerMismatch, text: "critical options"},
	} {
		t.Run(c.name, func(t *testing.T) {
			role := documentedUserRole
			role.AllowedExtensions = append([]string(nil), role.AllowedExtensions...)
			if c.role != nil {
				c.role(&role)
			}
			s := newVaultStandIn(t, standInOptions{mounts: twoMounts(role, documentedUpstreamRole)})
			name := standInRole
			if c.roleName != "" {
				name = c.roleName
			}
			userErr, upErr := signBoth(t, s, name)
			if !errors.Is(userErr, c.want) || !strings.Contains(strings.ToLower(userErr.Error()), c.text) {
				t.Errorf("user certificate: err = %v, want %v mentioning %q", userErr, c.want, c.text)
			}
			if upErr != nil {
				t.Errorf("upstream certificate on the other mount: %v", upErr)
			}
		})
	}
}

// Signing target certificates on the user mount (one CA for both) is the
// mistake the product refuses: a path the token's policy does not grant
// answers 403, and an unknown mount is no different.
func TestVaultUnknownMountIsForbidden(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{mounts: twoMounts(documentedUserRole, documentedUpstreamRole)})
	_, err := NewVaultSigner(t.Context(), VaultConfig{Address: s.srv.URL, Token: s.token, Mount: "ssh-client-signer", UserRole: standInRole})
	if !errors.Is(err, ErrSignerRefused) || !strings.Contains(err.Error(), "403") {
		t.Errorf("unknown mount: %v", err)
	}
	up := standInSigner(t, s, VaultConfig{Mount: standInTargetMount, UpstreamRole: standInRole})
	if _, err := up.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "s-1"}); !errors.Is(err, ErrSignerRefused) || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("user role on the target mount: %v", err)
	}
}
