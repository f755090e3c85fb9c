package main

import (
	"bytes"
	"text/template"
)

// initValues fill the files `bastion init` writes.
type initValues struct {
	Listen, DataDir, HTTPListen, SSHAddress string
	TLSCert, TLSKey                         string
	Issuer, Audience                        string // "" leaves the API off
}

// initConfig is a production config: every path absolute, every choice
// commented, the certificate API on only when an issuer was given.
var initConfig = template.Must(template.New("config").Parse(`# bastion configuration, written by 'bastion init'. Each field is described
# in README.md (Configuration reference) and config.example.yaml.
# Check it after every edit: bastion serve --check --config THIS_FILE

# Front SSH address users and agents connect to.
listen: {{.Listen}}

# Database and recordings; the only directory the service writes.
data_dir: {{.DataDir}}

# Private keys (0600, never readable by group or others: serve refuses
# them otherwise). Public halves sit beside them as *.pub.
host_key: host_key          # the bastion's own SSH host key
user_ca_key: user_ca        # signs users' short-lived certificates
target_ca_key: target_ca    # signs per-session certificates; targets trust target_ca.pub
signing_key: signing_key    # signs recording manifests; auditors verify with signing_key.pub

# Who may reach which LOGIN@TARGET; reloaded when it changes.
policy: policy.yaml

# Certificate API for 'bastion login' (OIDC token -> SSH certificate).
{{- if .Issuer}}
http:
  listen: {{.HTTPListen}}
  tls_cert: {{.TLSCert}}
  tls_key: {{.TLSKey}}
  ssh_address: {{.SSHAddress}}   # what 'bastion login' writes into ssh_config
issuers:
  - url: {{.Issuer}}
    audience: {{.Audience}}
    max_ttl: 15m
{{- else}}
# Off until an identity provider is named: uncomment and set url/audience.
# http:
#   listen: {{.HTTPListen}}
#   tls_cert: {{.TLSCert}}
#   tls_key: {{.TLSKey}}
#   ssh_address: {{.SSHAddress}}
# issuers:
#   - url: https://login.example.com
#     audience: bastion
#     max_ttl: 15m
{{- end}}

# Metrics for a local Prometheus (loopback only).
# diagnostics:
#   listen: 127.0.0.1:9100

# The hosts behind the bastion; users address them as LOGIN@NAME. Each
# target's sshd trusts target_ca.pub (TrustedUserCAKeys), and the bastion
# verifies each target's host key.
targets: []
#  - name: db-1
#    address: 10.20.0.11:22
#    host_key: "ssh-ed25519 AAAA... (ssh-keyscan -t ed25519 10.20.0.11)"
#    login: postgres
`))

// initPolicy denies everything until a rule is added.
const initPolicy = `# bastion policy, written by 'bastion init'. Rules are tried in order; the
# first match allows; no match denies. With no rules, nobody gets in.
# Reloaded within seconds of a change; a broken edit is rejected and the
# previous policy stays in force. See policy.example.yaml for every field.
access: []
#  - name: dba-to-databases
#    groups: [dba]            # from the certificate's groups
#    targets: ["db-*"]        # shell-style patterns
#    logins: [postgres]
env_allow: [LANG, LC_*]
`

func render(t *template.Template, v any) ([]byte, error) {
	var b bytes.Buffer
	err := t.Execute(&b, v)
	return b.Bytes(), err
}
