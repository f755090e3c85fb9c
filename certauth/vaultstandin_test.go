package certauth

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// vaultStandIn is a stand-in for Vault, not Vault itself: an httptest
// server that follows Vault's documented HTTP API for the SSH secrets
// engine (https://developer.hashicorp.com/vault/api-docs/secret/ssh) as
// far as VaultSigner uses it, with one CA key per mount and the rules of
// each mount's roles enforced as Vault enforces them (see vaultRole), so
// that a misconfigured role fails here as it would in production:
//
//	POST /v1/MOUNT/sign/ROLE   JSON public_key, valid_principals, ttl, cert_type,
//	                           key_id, extensions, critical_options; X-Vault-Token
//	                           → {"data":{"serial_number":"…","signed_key":"…-cert-v01@openssh.com AAAA…"}}
//	GET  /v1/MOUNT/public_key  the CA public key as plain text, unauthenticated
//
// PUT is accepted as POST, as Vault does. Errors are Vault's
// {"errors":[…]} with its status codes. It signs with a real local CA key,
// so its certificates verify with Checker, and it records the requests it
// received. standInOptions make it misbehave.
type vaultStandIn struct {
	srv  *httptest.Server
	ca   ssh.Signer            // the user mount's CA (standInMount)
	cas  map[string]ssh.Signer // every mount's CA, by mount
	opts standInOptions

	mu    sync.Mutex
	token string             // the token it accepts; guarded by mu
	got   []vaultSignRequest // guarded by mu
}

const (
	standInMount = "ssh"
	standInRole  = "bastion-user"
	// The second mount, for upstream certificates, as the product needs.
	standInTargetMount = "ssh-target"
	standInTargetRole  = "bastion-upstream"
)

// vaultRole is an SSH secrets engine role (key_type=ca,
// allow_user_certificates=true) and the rules Vault applies when it
// signs with it (path_sign.go / path_issue_sign.go in Vault's
// builtin/logical/ssh):
type vaultRole struct {
	// AllowedUsers is allowed_users: each of valid_principals must be
	// one of them; "*" allows any. Otherwise: 400.
	AllowedUsers []string
	// AllowedExtensions is allowed_extensions: each requested extension
	// must be listed; "*" allows any; empty allows none. Otherwise: 400.
	AllowedExtensions []string
	// AllowUserKeyIDs is allow_user_key_ids: when false, a requested
	// key_id is not an error but is replaced by Vault's own
	// "vault-TOKEN_DISPLAY_NAME-FINGERPRINT".
	AllowUserKeyIDs bool
	// DefaultCriticalOptions is default_critical_options: used when the
	// request asks for no critical options.
	DefaultCriticalOptions map[string]string
	// MaxTTL is max_ttl: a longer ttl is refused (400).
	MaxTTL time.Duration
}

// permissiveRole is a role that lets the bastion's requests through.
func permissiveRole() vaultRole {
	return vaultRole{AllowedUsers: []string{"*"}, AllowedExtensions: []string{"*"}, AllowUserKeyIDs: true, MaxTTL: 24 * time.Hour}
}

// standInOptions are fixed before the server starts.
type standInOptions struct {
	tls bool
	// ca is the mount's CA key; if nil, a fresh one.
	ca ssh.Signer
	// tamper alters each certificate before it is signed.
	tamper func(*ssh.Certificate)
	// signWith signs instead of the stand-in's CA key.
	signWith ssh.Signer
	// afterSign alters each certificate after it is signed.
	afterSign func(*ssh.Certificate)
	// answer replaces the sign endpoint.
	answer http.HandlerFunc
	// publicKey, if set, is served by MOUNT/public_key instead of the CA key.
	publicKey string
	// mounts are the SSH engines and their roles; nil means standInMount
	// with standInRole and standInTargetMount with standInTargetRole,
	// both permissive. Other paths answer 403, as Vault does for a path
	// the token's policy does not grant.
	mounts map[string]map[string]vaultRole
}

// vaultSignRequest is the body of POST MOUNT/sign/ROLE, plus the token.
type vaultSignRequest struct {
	PublicKey       string            `json:"public_key"`
	ValidPrincipals string            `json:"valid_principals"`
	TTL             string            `json:"ttl"`
	CertType        string            `json:"cert_type"`
	KeyID           string            `json:"key_id"`
	Extensions      map[string]string `json:"extensions"`
	CriticalOptions map[string]string `json:"critical_options"` // nil when absent
	Token           string            `json:"-"`
}

func newVaultStandIn(t *testing.T, opts standInOptions) *vaultStandIn {
	t.Helper()
	if opts.mounts == nil {
		opts.mounts = map[string]map[string]vaultRole{
			standInMount:       {standInRole: permissiveRole()},
			standInTargetMount: {standInTargetRole: permissiveRole()},
		}
	}
	s := &vaultStandIn{ca: opts.ca, opts: opts, token: "s.standin-token", cas: map[string]ssh.Signer{}}
	if s.ca == nil {
		s.ca = newSigner(t)
	}
	for m := range opts.mounts {
		s.cas[m] = newSigner(t)
	}
	s.cas[standInMount] = s.ca
	if opts.tls {
		s.srv = httptest.NewTLSServer(s)
	} else {
		s.srv = httptest.NewServer(s)
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *vaultStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	mount, op, role := path, "", ""
	if i := strings.LastIndex(path, "/public_key"); i > 0 && i+len("/public_key") == len(path) {
		mount, op = path[:i], "public_key"
	} else if i := strings.LastIndex(path, "/sign/"); i > 0 {
		mount, op, role = path[:i], "sign", path[i+len("/sign/"):]
	}
	roles, known := s.opts.mounts[mount]
	switch {
	case !known || op == "":
		vaultError(w, http.StatusForbidden, "permission denied")
	case op == "public_key":
		if r.Method != http.MethodGet {
			vaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.opts.publicKey != "" {
			fmt.Fprint(w, s.opts.publicKey)
			return
		}
		_, _ = w.Write(ssh.MarshalAuthorizedKey(s.cas[mount].PublicKey()))
	default:
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			vaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
			return
		}
		if s.opts.answer != nil {
			s.opts.answer(w, r)
			return
		}
		s.sign(w, r, mount, role, roles)
	}
}

func (s *vaultStandIn) sign(w http.ResponseWriter, r *http.Request, mount, roleName string, roles map[string]vaultRole) {
	var req vaultSignRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		vaultError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Token = r.Header.Get("X-Vault-Token")
	s.mu.Lock()
	s.got = append(s.got, req)
	token := s.token
	s.mu.Unlock()
	if req.Token != token {
		vaultError(w, http.StatusForbidden, "permission denied")
		return
	}
	if req.CertType != "user" {
		vaultError(w, http.StatusBadRequest, "cert_type must be user")
		return
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		vaultError(w, http.StatusBadRequest, "failed to parse public_key as SSH key")
		return
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		vaultError(w, http.StatusBadRequest, "invalid ttl")
		return
	}
	role, ok := roles[roleName]
	if !ok {
		vaultError(w, http.StatusBadRequest, "unknown role: "+roleName)
		return
	}
	if msg := role.refuse(&req, ttl, pub); msg != "" {
		vaultError(w, http.StatusBadRequest, msg)
		return
	}
	var serial [8]byte
	_, _ = rand.Read(serial[:])
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             pub,
		Serial:          binary.BigEndian.Uint64(serial[:]),
		CertType:        ssh.UserCert,
		KeyId:           req.KeyID,
		ValidPrincipals: strings.Split(req.ValidPrincipals, ","),
		ValidAfter:      uint64(now.Add(-30 * time.Second).Unix()), // Vault's default not_before_duration
		ValidBefore:     uint64(now.Add(ttl).Unix()),
		Permissions:     ssh.Permissions{CriticalOptions: req.CriticalOptions, Extensions: req.Extensions},
	}
	if s.opts.tamper != nil {
		s.opts.tamper(cert)
	}
	signer := s.cas[mount]
	if s.opts.signWith != nil {
		signer = s.opts.signWith
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		vaultError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if s.opts.afterSign != nil {
		s.opts.afterSign(cert)
	}
	vaultData(w, map[string]any{
		"serial_number": fmt.Sprintf("%016x", cert.Serial),
		"signed_key":    string(ssh.MarshalAuthorizedKey(cert)),
	})
}

// vaultData writes a successful Vault response around data.
func vaultData(w http.ResponseWriter, data map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_id": "", "renewable": false,
		"lease_duration": 0, "data": data, "wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// vaultError writes Vault's error body.
func vaultError(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}

func (s *vaultStandIn) setToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

func (s *vaultStandIn) requests() []vaultSignRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]vaultSignRequest(nil), s.got...)
}

// writeToken writes token to a fresh file, with the whitespace an editor
// or `vault token create > file` leaves around it.
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// standInSigner is a VaultSigner for s with both roles and a token file.
func standInSigner(t *testing.T, s *vaultStandIn, cfg VaultConfig) *VaultSigner {
	t.Helper()
	cfg.Address = s.srv.URL
	if cfg.UserRole == "" && cfg.UpstreamRole == "" {
		cfg.UserRole, cfg.UpstreamRole = standInRole, standInRole
	}
	if cfg.TokenFile == "" && cfg.Token == "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "vault-token")
		writeToken(t, cfg.TokenFile, s.token)
	}
	v, err := NewVaultSigner(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// refuse applies the role to a request as Vault does: it returns Vault's
// error text for a refusal, and rewrites what Vault rewrites silently
// (the key ID, default critical options).
func (role vaultRole) refuse(req *vaultSignRequest, ttl time.Duration, pub ssh.PublicKey) string {
	if role.MaxTTL > 0 && ttl > role.MaxTTL {
		return fmt.Sprintf("ttl is larger than maximum allowed (%d)", int64(role.MaxTTL/time.Second))
	}
	if !slices.Contains(role.AllowedUsers, "*") {
		for _, p := range strings.Split(req.ValidPrincipals, ",") {
			if !slices.Contains(role.AllowedUsers, p) {
				return p + " is not a valid value for valid_principals"
			}
		}
	}
	if !slices.Contains(role.AllowedExtensions, "*") {
		var notAllowed []string
		for e := range req.Extensions {
			if !slices.Contains(role.AllowedExtensions, e) {
				notAllowed = append(notAllowed, e)
			}
		}
		if len(notAllowed) > 0 {
			slices.Sort(notAllowed)
			return fmt.Sprintf("extensions %v are not on allowed list", notAllowed)
		}
	}
	if !role.AllowUserKeyIDs {
		req.KeyID = "vault-token-" + strings.TrimPrefix(ssh.FingerprintSHA256(pub), "SHA256:")
	}
	if len(req.CriticalOptions) == 0 && len(role.DefaultCriticalOptions) > 0 {
		req.CriticalOptions = maps.Clone(role.DefaultCriticalOptions)
	}
	return ""
}
