package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
)

// loginTargets is where `bastion login` keeps the targets it was told
// this identity may reach, for `bastion targets`.
const loginTargets = "targets.json"

// savedTargets is targets.json.
type savedTargets struct {
	certauth.TargetsResponse
	At     time.Time `json:"at"` // when the bastion answered
	Server string    `json:"server"`
}

// fetchTargets asks the certificate API which targets the token's holder
// may reach. The token is only verified there, not used up.
func fetchTargets(ctx context.Context, client *http.Client, server, token string) (*certauth.TargetsResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+certauth.PathTargets, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil // an older bastion: no listing, no Host blocks
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		refused := &refusedError{Status: resp.StatusCode}
		if json.Unmarshal(data, &refused.ErrorResponse) != nil || refused.Reason == "" {
			return nil, fmt.Errorf("targets: %s", resp.Status)
		}
		return nil, refused
	}
	var out certauth.TargetsResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("targets: bad response: %w", err)
	}
	return &out, nil
}

// hostLogin is the login a generated Host block uses: the target's
// default login, else its only literal login; "" when the user must
// choose (then no block is written for it).
func hostLogin(t certauth.Target) string {
	if t.DefaultLogin != "" {
		return t.DefaultLogin
	}
	var literal []string
	for _, l := range t.Logins {
		if !strings.ContainsAny(l, "*?[") {
			literal = append(literal, l)
		}
	}
	if len(literal) == 1 {
		return literal[0]
	}
	return ""
}

func cmdTargets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("targets", "targets [--json] [--dir DIR] [--token-file F --server URL]", stdout)
	asJSON := flags.Bool("json", false, "print JSON")
	dir := flags.String("dir", defaultLoginDir(), "the directory bastion login wrote")
	tokenFile := flags.String("token-file", "", "ask the bastion now with this token instead of reading the last login's list")
	server := flags.String("server", os.Getenv("BASTION_SERVER"), "with --token-file: the certificate API, https://HOST:PORT ($BASTION_SERVER)")
	caCert := flags.String("ca-cert", os.Getenv("BASTION_CA_CERT"), "with --token-file: PEM file trusted for the API's TLS certificate")
	if err := parseFlags(flags, args); err != nil {
		return helpOK(err)
	}
	if *tokenFile != "" {
		saved, err := liveTargets(ctx, *server, *caCert, *tokenFile)
		if err != nil {
			return err
		}
		return printTargets(stdout, *dir, saved, *asJSON, "now")
	}
	data, err := os.ReadFile(filepath.Join(*dir, loginTargets))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no target list in %s: run bastion login first (the list is fetched at each login); "+
			"or ssh to the bastion with no target, which lists them too", *dir)
	}
	if err != nil {
		return err
	}
	var saved savedTargets
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(*dir, loginTargets), err)
	}
	return printTargets(stdout, *dir, &saved, *asJSON, "login at "+saved.At.Local().Format(time.RFC3339))
}

// liveTargets asks the certificate API with the token in tokenFile.
func liveTargets(ctx context.Context, server, caCert, tokenFile string) (*savedTargets, error) {
	if err := checkServerURL(server); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	client, err := apiClient(caCert)
	if err != nil {
		return nil, err
	}
	resp, err := fetchTargets(ctx, client, server, strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("bastion %s lists no targets (an older version)", server)
	}
	return &savedTargets{TargetsResponse: *resp, At: time.Now(), Server: server}, nil
}

// printTargets prints a target list like `tsh ls`; asOf says how fresh.
func printTargets(stdout io.Writer, dir string, saved *savedTargets, asJSON bool, asOf string) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(saved)
	}
	fmt.Fprintf(stdout, "%s may reach (as of %s):\n", saved.Identity, asOf)
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tLOGINS\tDEFAULT\tSSH")
	for _, t := range saved.Targets {
		how := "ssh LOGIN@" + t.Name + "@bastion"
		if l := hostLogin(t); l != "" {
			how = "ssh -F " + filepath.Join(dir, loginSSHConfig) + " " + t.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Logins, ","), t.DefaultLogin, how)
	}
	tw.Flush()
	if len(saved.Targets) == 0 {
		fmt.Fprintln(stdout, "(none: the policy gives this identity no target)")
	}
	return nil
}
