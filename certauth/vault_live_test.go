package certauth

import (
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// vaultLiveSetup is how to run TestVaultLive against a throwaway Vault.
const vaultLiveSetup = `set VAULT_ADDR and VAULT_TOKEN to sign with a real Vault, e.g.:
  vault server -dev    # prints the root token; in another shell:
  export VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=<root token>
  vault secrets enable ssh
  vault write ssh/config/ca generate_signing_key=true
  vault write ssh/roles/bastion-user key_type=ca allow_user_certificates=true allow_user_key_ids=true allowed_users="*" allowed_extensions="*" ttl=15m max_ttl=1h
  go test ./certauth -run TestVaultLive -v`

// TestVaultLive signs with a real Vault's SSH secrets engine. It runs only
// when VAULT_ADDR and VAULT_TOKEN are set.
func TestVaultLive(t *testing.T) {
	vaultAddr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if vaultAddr == "" || token == "" {
		t.Skip(vaultLiveSetup)
	}
	v, err := NewVaultSigner(t.Context(), VaultConfig{Address: vaultAddr, Token: token,
		Mount: "ssh", UserRole: "bastion-user", UpstreamRole: "bastion-user"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	cert, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com",
		Groups: []string{"ops"}, TTL: 10 * time.Minute, SourceAddress: "192.0.2.0/24"})
	if err != nil {
		t.Fatalf("%v\n\n%s", err, vaultLiveSetup)
	}
	t.Logf("serial %d, KeyId %q, valid until %s", cert.Serial, cert.KeyId, certTime(cert.ValidBefore))
	id, err := (&Checker{Authorities: []ssh.PublicKey{v.PublicKey()}}).Check(cert, addr) // 192.0.2.10, inside the source-address
	if err != nil {
		t.Fatalf("Checker refused Vault's certificate: %v", err)
	}
	if id.Name != "alice@example.com" || id.Principals[0] != "alice" {
		t.Errorf("identity = %+v", id)
	}
	up, err := v.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "live-1"})
	if err != nil {
		t.Fatal(err)
	}
	if up.KeyId != "bastion identity=alice@example.com session=live-1" {
		t.Errorf("upstream KeyId = %q", up.KeyId)
	}
}
