package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// loginOptions are everything a login needs; cmdLogin fills them from
// flags and the environment, `bastion dev` from its own issuer.
type loginOptions struct {
	server    string // https://HOST:PORT of the certificate API
	dir       string // where the key, certificate and client files live
	ttl       string
	token     tokenSource
	client    *http.Client // for the certificate API
	sshAddr   string       // overrides the address the bastion reports
	hostAlias string       // Host name in the generated ssh_config
	// clientFiles writes ssh_config and known_hosts; agentSock, if set,
	// is the ssh-agent to load the certificate into.
	clientFiles bool
	agentSock   string
}

// loginResult is what a login produced (the --json output).
type loginResult struct {
	Identity    string    `json:"identity"`
	Groups      []string  `json:"groups"`
	Principals  []string  `json:"principals"`
	Serial      string    `json:"serial"`
	Key         string    `json:"key"`         // private key file
	Certificate string    `json:"certificate"` // certificate file
	ValidBefore time.Time `json:"valid_before"`
	SSHAddress  string    `json:"ssh_address,omitempty"`
	SSHConfig   string    `json:"ssh_config,omitempty"`
	Agent       bool      `json:"agent"` // loaded into ssh-agent
}

func cmdLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("login", "login --server https://HOST:PORT --issuer URL [flags]", stdout)
	server := fs.String("server", os.Getenv("BASTION_SERVER"), "bastion certificate API, https://HOST:PORT ($BASTION_SERVER)")
	issuer := fs.String("issuer", os.Getenv("BASTION_ISSUER"), "OIDC issuer URL ($BASTION_ISSUER)")
	clientID := fs.String("client-id", "", "OAuth client id (default $BASTION_CLIENT_ID, else \""+defaultLoginClientID+"\" for the device flow)")
	caCert := fs.String("ca-cert", os.Getenv("BASTION_CA_CERT"), "PEM file trusted for the bastion's TLS certificate ($BASTION_CA_CERT)")
	dir := fs.String("dir", defaultLoginDir(), "directory for the key, certificate, ssh_config and known_hosts")
	ttl := fs.String("ttl", "", "certificate lifetime, e.g. 15m (default: the bastion's default)")
	scopes := fs.String("scopes", "", "space-separated scopes (default \"openid email groups\" for the device flow, none for client credentials)")
	tokenFile := fs.String("token-file", "", "present the token in this file (re-read each run) instead of logging in")
	clientCreds := fs.Bool("client-credentials", false, "client credentials grant with $BASTION_CLIENT_ID / $BASTION_CLIENT_SECRET (no prompt)")
	sshAddr := fs.String("ssh-addr", "", "bastion SSH address HOST:PORT for ssh_config (default: as the bastion reports)")
	alias := fs.String("host-alias", "bastion", "Host name of the bastion in the generated ssh_config")
	noAgent := fs.Bool("no-agent", false, "do not load the certificate into ssh-agent")
	status := fs.Bool("status", false, "show the stored certificate's identity, groups and expiry (exit status 1 if missing or expired)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 0 {
		return usagef("login: unexpected argument %q", fs.Arg(0))
	}
	if *status {
		return loginStatus(*dir, *asJSON, stdout)
	}
	if *tokenFile != "" && *clientCreds {
		return usagef("login: --token-file and --client-credentials exclude each other")
	}
	if err := checkServerURL(*server); err != nil {
		return err
	}
	client, err := apiClient(*caCert)
	if err != nil {
		return err
	}
	// The identity provider is reached with the system's trust store.
	idpClient := &http.Client{Timeout: tokenTimeout}
	id := *clientID
	if id == "" {
		id = os.Getenv("BASTION_CLIENT_ID")
	}
	opts := loginOptions{server: *server, dir: *dir, ttl: *ttl, client: client, sshAddr: *sshAddr,
		hostAlias: *alias, clientFiles: true}
	if !*noAgent {
		opts.agentSock = os.Getenv("SSH_AUTH_SOCK")
	}
	switch {
	case *tokenFile != "":
		opts.token = fileToken(*tokenFile)
	case *clientCreds:
		opts.token = clientCredentialsToken(*issuer, id, os.Getenv("BASTION_CLIENT_SECRET"), strings.Fields(*scopes), idpClient)
	default:
		if id == "" {
			id = defaultLoginClientID
		}
		sc := strings.Fields(*scopes)
		if len(sc) == 0 {
			sc = []string{"openid", "email", "groups"}
		}
		opts.token = deviceToken(*issuer, id, sc, idpClient, stderr)
	}
	res, err := login(ctx, opts, stderr)
	if err != nil {
		var refused *refusedError
		if *asJSON && errors.As(err, &refused) {
			_ = writeJSON(stdout, refused.ErrorResponse)
		}
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "Logged in as %s (groups: %s); certificate valid until %s.\n",
		res.Identity, strings.Join(res.Groups, ","), res.ValidBefore.Local().Format(timeWithZone))
	if res.SSHConfig != "" {
		fmt.Fprintf(stdout, "  ssh -F %s LOGIN@TARGET@%s\n", res.SSHConfig, *alias)
	}
	if res.Agent {
		fmt.Fprintln(stdout, "  key and certificate loaded into ssh-agent until they expire")
	}
	return nil
}

// login obtains a token, exchanges it for a certificate of the key in
// dir, and writes the files that make stock OpenSSH use it.
func login(ctx context.Context, o loginOptions, warn io.Writer) (*loginResult, error) {
	key, err := loginKey(o.dir)
	if err != nil {
		return nil, err
	}
	token, err := o.token(ctx)
	if err != nil {
		return nil, err
	}
	resp, cert, err := requestCertificate(ctx, o.client, o.server, token, key.PublicKey(), o.ttl)
	if err != nil {
		return nil, err
	}
	certPath := filepath.Join(o.dir, loginCertFile)
	if err := writePrivate(certPath, ssh.MarshalAuthorizedKey(cert)); err != nil {
		return nil, err
	}
	res := &loginResult{Identity: resp.Identity, Groups: resp.Groups, Principals: cert.ValidPrincipals,
		Serial: resp.Serial, Key: filepath.Join(o.dir, loginKeyFile), Certificate: certPath,
		ValidBefore: resp.ValidBefore, SSHAddress: resp.SSHAddress}
	if o.sshAddr != "" {
		res.SSHAddress = o.sshAddr
	}
	if o.clientFiles {
		if res.SSHAddress == "" {
			return nil, errors.New("the bastion did not report its SSH address; pass --ssh-addr HOST:PORT")
		}
		hostKeys, err := fetchHostKeys(ctx, o.client, o.server)
		if err != nil {
			return nil, err
		}
		// The token is verified again for the listing, not used up.
		targets, err := fetchTargets(ctx, o.client, o.server, token)
		if err != nil {
			return nil, err
		}
		var list []certauth.Target
		if targets != nil {
			list = targets.Targets
			saved, err := json.MarshalIndent(savedTargets{TargetsResponse: *targets, At: time.Now(), Server: o.server}, "", "  ")
			if err != nil {
				return nil, err
			}
			if err := writePrivate(filepath.Join(o.dir, loginTargets), saved); err != nil {
				return nil, err
			}
		}
		if res.SSHConfig, err = writeClientConfig(o.dir, o.hostAlias, res.SSHAddress, hostKeys, list); err != nil {
			return nil, err
		}
	}
	if o.agentSock != "" {
		if err := addToAgent(o.agentSock, res.Key, cert, "bastion "+res.Identity); err != nil {
			// The files are written; the agent is a convenience.
			fmt.Fprintf(warn, "bastion: warning: certificate not loaded into ssh-agent: %v\n", err)
		} else {
			res.Agent = true
		}
	}
	return res, nil
}

// checkServerURL insists on https: the request carries a bearer token.
func checkServerURL(s string) error {
	if s == "" {
		return usagef("login: --server (or $BASTION_SERVER) is required")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return usagef("login: --server must be an https:// URL, got %q", s)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil && !strings.Contains(err.Error(), "missing port") {
		return usagef("login: --server %q: %v", s, err)
	}
	return nil
}

// loginStatus prints the stored certificate; an expired or missing
// certificate is an error, so scripts can test `bastion login --status`.
func loginStatus(dir string, asJSON bool, stdout io.Writer) error {
	st, _, err := readCertStatus(dir)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(stdout, st); err != nil {
			return err
		}
	} else {
		state := "valid until " + st.ValidBefore.Local().Format(timeWithZone) +
			" (" + time.Until(st.ValidBefore).Round(time.Second).String() + " left)"
		if st.Expired {
			state = "expired at " + st.ValidBefore.Local().Format(timeWithZone)
		}
		fmt.Fprintf(stdout, "identity    %s\ngroups      %s\nprincipals  %s\nserial      %s\ncertificate %s\n",
			st.Identity, strings.Join(st.Groups, ","), strings.Join(st.Principals, ","), st.Serial, state)
	}
	if st.Expired {
		return fmt.Errorf("certificate expired at %s; run bastion login", st.ValidBefore.Local().Format(timeWithZone))
	}
	return nil
}
