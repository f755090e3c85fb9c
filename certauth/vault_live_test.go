package certauth

import (
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// vaultLiveSetup is how to run TestVaultLive against a throwaway Vault or
// OpenBao: the two mounts and roles README.md's Vault section documents.
const vaultLiveSetup = `set VAULT_ADDR and VAULT_TOKEN to sign with a real Vault (or OpenBao), e.g.:
  vault server -dev    # prints the root token; in another shell:
  export VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=<root token>
  vault secrets enable -path=ssh ssh
  vault write ssh/config/ca generate_signing_key=true
  vault write ssh/roles/bastion-user key_type=ca allow_user_certificates=true allow_user_key_ids=true allowed_users="*" allowed_extensions="permit-pty,permit-port-forwarding,permit-agent-forwarding,permit-X11-forwarding,permit-user-rc,identity@bastion,groups@bastion,issued-at@bastion" default_extensions="" ttl=15m max_ttl=1h not_before_duration=60s
  vault secrets enable -path=ssh-target ssh
  vault write ssh-target/config/ca generate_signing_key=true
  vault write ssh-target/roles/bastion-upstream key_type=ca allow_user_certificates=true allow_user_key_ids=true allowed_users="*" allowed_extensions="permit-pty,permit-port-forwarding,permit-agent-forwarding" default_extensions="" ttl=5m max_ttl=10m not_before_duration=60s
  go test ./certauth -run TestVaultLive -v`

// TestVaultLive signs with a real Vault's SSH secrets engine, set up as
// the product needs it: user certificates on one mount, target
// certificates on another with its own CA. It runs only when VAULT_ADDR
// and VAULT_TOKEN are set.
func TestVaultLive(t *testing.T) {
	vaultAddr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if vaultAddr == "" || token == "" {
		t.Skip(vaultLiveSetup)
	}
	user, err := NewVaultSigner(t.Context(), VaultConfig{Address: vaultAddr, Token: token, Mount: "ssh", UserRole: "bastion-user"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	target, err := NewVaultSigner(t.Context(), VaultConfig{Address: vaultAddr, Token: token, Mount: "ssh-target", UpstreamRole: "bastion-upstream"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	if keysEqual(user.PublicKey(), target.PublicKey()) {
		t.Fatal("ssh and ssh-target share one CA key: targets would accept user certificates")
	}
	cert, err := user.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com",
		Groups: []string{"ops"}, TTL: 10 * time.Minute, SourceAddress: "192.0.2.0/24"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	t.Logf("serial %d, KeyId %q, valid until %s", cert.Serial, cert.KeyId, certTime(cert.ValidBefore))
	id, err := (&Checker{Authorities: []ssh.PublicKey{user.PublicKey()}}).Check(cert, addr) // 192.0.2.10, inside the source-address
	if err != nil {
		t.Fatalf("Checker refused Vault's certificate: %v", err)
	}
	if id.Name != "alice@example.com" || id.Principals[0] != "alice" {
		t.Errorf("identity = %+v", id)
	}
	up, err := target.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "live-1"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	if up.KeyId != "bastion identity=alice@example.com session=live-1" {
		t.Errorf("upstream KeyId = %q", up.KeyId)
	}
	// A target trusting the target CA accepts the upstream certificate
	// and not the user one.
	targetTrust := ssh.CertChecker{IsUserAuthority: func(k ssh.PublicKey) bool { return keysEqual(k, target.PublicKey()) }}
	if err := targetTrust.CheckCert("postgres", up); err != nil {
		t.Errorf("upstream certificate: %v", err)
	}
	if err := targetTrust.CheckCert("alice", cert); err == nil {
		t.Error("a target trusting the target CA accepted a user certificate")
	}
}
