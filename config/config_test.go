package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The commented example in the repository must always load.
func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 3 || c.Targets[0].Credential.Type != CredentialCertificate || c.Targets[1].Credential.Type != CredentialKey {
		t.Errorf("targets = %+v", c.Targets)
	}
	if c.Limits.WithDefaults().DialTimeout != 10*time.Second {
		t.Errorf("dial timeout = %s", c.Limits.WithDefaults().DialTimeout)
	}
	if got, ok := c.Target("db-1"); !ok || got.Login != "postgres" {
		t.Errorf("Target(db-1) = %+v, %v", got, ok)
	}
}

const valid = `listen: 127.0.0.1:2222
data_dir: data
host_key: host_key
user_ca_key: user_ca
target_ca_key: target_ca
signing_key: signing_key
policy: policy.yaml
targets:
  - name: db
    address: 10.0.0.1:22
    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINPf+4T+Uatm30rgxRhW2xUVYni/6CGk3ZJgBQgeOA63"
    login: postgres
`

func TestParseResolvesRelativePaths(t *testing.T) {
	c, err := Parse([]byte(valid), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/etc/bastion/data" || c.HostKey != "/etc/bastion/host_key" || c.RecordingDir() != "/etc/bastion/data/recordings" {
		t.Errorf("paths not resolved: %+v", c)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, from, to, field string
	}{
		{"bad-listen", "listen: 127.0.0.1:2222", "listen: nowhere", "listen"},
		{"no-data-dir", "data_dir: data\n", "", "data_dir: missing"},
		{"no-signing-key", "signing_key: signing_key\n", "", "signing_key: missing"},
		{"unknown-field", "policy: policy.yaml", "policy: policy.yaml\npolcy: typo", "polcy"},
		{"no-host-verification", `    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINPf+4T+Uatm30rgxRhW2xUVYni/6CGk3ZJgBQgeOA63"` + "\n", "", "targets[0]: set exactly one of host_key"},
		{"garbage-host-key", "AAAAC3NzaC1lZDI1NTE5AAAAINPf", "AAAAnotakey", "targets[0].host_key"},
		{"bad-target-name", "name: db", "name: db@x", "targets[0].name"},
		{"bad-address", "address: 10.0.0.1:22", "address: 10.0.0.1", "targets[0].address"},
		{"unknown-credential", "login: postgres", "login: postgres\n    credential: {type: password}", "credential.type"},
		{"key-without-file", "login: postgres", "login: postgres\n    credential: {type: key}", "credential.key_file"},
		{"certificate-without-ca", "target_ca_key: target_ca\n", "", "target_ca_key"},
		{"diagnostics-not-loopback", "policy: policy.yaml", "policy: policy.yaml\ndiagnostics: {listen: 0.0.0.0:9100}", "diagnostics.listen"},
		{"pprof-without-listener", "policy: policy.yaml", "policy: policy.yaml\ndiagnostics: {pprof: true}", "diagnostics.pprof"},
		{"negative-rate-limit", "policy: policy.yaml", "policy: policy.yaml\nhttp: {listen: 127.0.0.1:8443, tls_cert: c, tls_key: k, rate_limit: {burst: -1}}\nissuers: [{url: https://login.example.com, audience: bastion}]", "http.rate_limit"},
		{"negative-timeout", "policy: policy.yaml", "policy: policy.yaml\nlimits: {dial_timeout: -1s}", "limits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(valid, c.from, c.to, 1)
			if doc == valid {
				t.Fatalf("test case does not change the document")
			}
			_, err := Parse([]byte(doc), "/x")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %q, want it to name %q", err, c.field)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestDiagnosticsOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:9100", "[::1]:9100", "localhost:0"} {
		doc := valid + "diagnostics: {listen: \"" + addr + "\", pprof: true}\n"
		c, err := Parse([]byte(doc), "/x")
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		if c.Diagnostics.Listen != addr || !c.Diagnostics.Pprof {
			t.Errorf("%s: diagnostics = %+v", addr, c.Diagnostics)
		}
	}
}

func TestEvidenceAndRetentionConfig(t *testing.T) {
	base := "listen: 127.0.0.1:2222\ndata_dir: /var/lib/bastion\nhost_key: h\nsigning_key: s\npolicy: p\nuser_ca_key: u\ntargets:\n  - {name: db, address: 'db:22', host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvMyLNmtnCSXQ3fSrUYGpkyMyHKxnf5xx9ivwyCBgpk', credential: {type: key, key_file: k}}\n"
	cases := []struct {
		name, extra, want string
	}{
		{"witness-outside", "evidence:\n  witness_file: /mnt/witness/head\n", ""},
		{"witness-inside", "evidence:\n  witness_file: /var/lib/bastion/head\n", "evidence.witness_file"},
		{"witness-url", "evidence:\n  witness_url: ftp://x\n", "evidence.witness_url"},
		{"keep-negative", "retention:\n  keep_days: -1\n", "retention.keep_days"},
		{"hold-empty", "retention:\n  holds:\n    - {reason: case 7}\n", "retention.holds"},
		{"hold-no-reason", "retention:\n  holds:\n    - {identity: bob}\n", "retention.holds"},
		{"hold-ok", "retention:\n  keep_days: 2192\n  holds:\n    - {identity: bob, reason: case 7}\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(base+c.extra), "/etc/bastion")
			if c.want == "" && err != nil {
				t.Fatal(err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("err = %v, want one naming %s", err, c.want)
			}
		})
	}
}
