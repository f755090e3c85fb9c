package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const validLogin = valid + `http:
  listen: 127.0.0.1:8443
  tls_cert: tls.crt
  tls_key: tls.key
issuers:
  - url: https://login.example.com
    audience: bastion
    allowed_groups: [ops]
    max_ttl: 1h
  - url: http://127.0.0.1:5556
    audience: agents
    identity_claim: sub
    bind_source_address: true
`

func TestParseLogin(t *testing.T) {
	c, err := Parse([]byte(validLogin), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.TLSCert != "/etc/bastion/tls.crt" || len(c.Issuers) != 2 || c.Issuers[0].MaxTTL != time.Hour {
		t.Errorf("parsed %+v", c)
	}
	if !c.Issuers[0].EmailVerifiedRequired() || c.Issuers[1].EmailVerifiedRequired() {
		t.Error("require_email_verified default: true for email identities only")
	}
}

func TestLoginRejects(t *testing.T) {
	cases := map[string]struct{ from, to, field string }{
		"no-tls":         {"  tls_key: tls.key\n", "", "http"},
		"plain-http":     {"https://login.example.com", "http://login.example.com", "issuers[0].url"},
		"no-audience":    {"    audience: bastion\n", "", "issuers[0].audience"},
		"ttl-too-long":   {"max_ttl: 1h", "max_ttl: 48h", "issuers[0].max_ttl"},
		"duplicate":      {"http://127.0.0.1:5556", "https://login.example.com", "issuers[1].url"},
		"bad-listen":     {"listen: 127.0.0.1:8443", "listen: nope", "http.listen"},
		"unknown-field":  {"    audience: agents\n", "    audience: agents\n    claim: x\n", "claim"},
		"no-issuers-key": {"issuers:", "issuers_: ", "issuers_"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(validLogin, c.from, c.to, 1)
			if doc == validLogin {
				t.Fatal("replacement did not apply")
			}
			_, err := Parse([]byte(doc), "/etc/bastion")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %v, want ErrInvalid naming %s", err, c.field)
			}
		})
	}
}
