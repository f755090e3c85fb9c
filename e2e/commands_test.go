package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/slackreview"
	"github.com/bastion-ssh/bastion/slackreview/slacktest"
)

// Exit statuses of command review (server/exitcodes.go, the README).
const (
	exitCommandDenied  = 252
	exitCommandHeld    = 236
	exitReviewDenied   = 239
	exitReviewExpired  = 238
	exitRequestRefused = 237
)

const commandsPolicy = `access:
  - name: staff
    groups: [ops, security]
    targets: ["*"]
    logins: [root]
commands:
  default: allow
  reviewers: [security]
  rules:
    - name: no-deletes
      programs: [rm, shred, unlink]
      action: deny
    - name: no-find-delete
      programs: [find]
      args: ["*-delete*", "*-exec*rm*"]
      action: deny
    - name: touch-needs-review
      programs: [touch]
      action: review
      reviewers: [security]
      timeout: 10m
    - name: mkdir-needs-two
      programs: [mkdir]
      action: review
      reviewers: [security]
      approvals: 2
      timeout: 10m
    - name: quick-review
      programs: [tee]
      action: review
      reviewers: [security]
      timeout: 2s
`

var slackSecret = []byte("e2e-signing-secret-0123456789")

// reviewGateway is a bastion with command rules and Slack (a stand-in)
// in front of a real sshd; alice runs commands, carol and dave review.
type reviewGateway struct {
	*gateway
	slack          *slacktest.Server
	slackURL       string
	httpc          *http.Client
	alice, carol   client
	dave, outsider client
}

func newReviewGateway(t *testing.T) *reviewGateway {
	t.Helper()
	sl := slacktest.NewServer()
	t.Cleanup(sl.Close)
	dir := t.TempDir()
	certFile, keyFile := writeTLSCert(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "slack_secret"), slackSecret, 0o600); err != nil {
		t.Fatal(err)
	}
	httpPort := freePort(t)
	extra := fmt.Sprintf(`http:
  listen: 127.0.0.1:%d
  tls_cert: %s
  tls_key: %s
issuers:
  - {url: "http://127.0.0.1:1", audience: bastion}
slack:
  webhook_url: %q
  signing_secret_file: slack_secret
  response_url_prefixes: [%q]
  users:
    UCAROL: {identity: carol@example.com, groups: [security]}
    UDAVE: {identity: dave@example.com, groups: [security]}
    UALICE: {identity: alice@example.com, groups: [security]}
    UOPS: {identity: olga@example.com, groups: [ops]}
`, httpPort, certFile, keyFile, sl.WebhookURL(), sl.ResponseURLPrefix())
	g := newGatewayWith(t, dir, extra, commandsPolicy)
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", httpPort), nil)
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	rg := &reviewGateway{gateway: g, slack: sl, slackURL: fmt.Sprintf("https://127.0.0.1:%d%s", httpPort, slackreview.Path),
		httpc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	mk := func(id string, groups ...string) client {
		return newClient(t, g.userCA, certauth.UserRequest{Identity: id, Login: "root", Groups: groups, TTL: time.Hour})
	}
	// alice is in security too: her own requests must still be refused to her.
	rg.alice, rg.carol, rg.dave, rg.outsider = mk("alice@example.com", "ops", "security"), mk("carol@example.com", "security"),
		mk("dave@example.com", "security"), mk("olga@example.com", "ops")
	return rg
}

// press sends a correctly signed Slack button press and returns the status.
func (rg *reviewGateway) press(t *testing.T, user, action, id string) int {
	t.Helper()
	body := slacktest.Press{UserID: user, ActionID: action, RequestID: id, ResponseURL: rg.slack.ResponseURL(id)}.Payload()
	resp, err := rg.httpc.Do(slacktest.Request(rg.slackURL, slackSecret, time.Now(), body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// desk runs an approval desk command as c over the bastion's SSH port.
func (rg *reviewGateway) desk(t *testing.T, c client, args ...string) result {
	t.Helper()
	return rg.ssh(t, c, "bastion-approvals", args...)
}

// bastionCLI runs `bastion approvals|approve|deny` as c, through an
// ssh_config like the one `bastion login` writes.
func (rg *reviewGateway) bastionCLI(t *testing.T, c client, args ...string) result {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	text := fmt.Sprintf("Host bastion\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile %s\n  CertificateFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
		rg.port, c.key, c.cert, filepath.Join(rg.dir, "known_hosts"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return runCmd(t, bastionBin, append(args, "--ssh-config", cfg)...)
}

var heldLine = regexp.MustCompile(`bastion: held: request=(req-[a-z0-9]+) rule=(\S+) reviewers=(\S+) approvals=(\d+) timeout=(\S+)`)

// heldID returns the request id from a held line in stderr.
func heldID(t *testing.T, stderr string) string {
	t.Helper()
	m := heldLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no held line in %q", stderr)
	}
	return m[1]
}

// waiting is an ssh exec left waiting on a held command.
type waiting struct {
	cmd    *exec.Cmd
	id     string
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

// startHeld runs ssh as c and returns once the held line arrived.
func (rg *reviewGateway) startHeld(t *testing.T, c client, extra []string, command string) *waiting {
	t.Helper()
	args := append(rg.sshOpts(c), extra...)
	args = append(args, "-p", fmt.Sprint(rg.port), "root@target@127.0.0.1", command)
	w := &waiting{cmd: exec.Command("ssh", args...), done: make(chan struct{})}
	w.cmd.Stdout = &w.stdout
	pr, pw := io.Pipe()
	w.cmd.Stderr = pw
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); <-w.done })
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			w.stderr.WriteString(sc.Text() + "\n")
			if m := heldLine.FindStringSubmatch(sc.Text()); m != nil {
				ids <- m[1]
			}
		}
	}()
	go func() {
		err := w.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			w.code = ee.ExitCode()
		}
		pw.Close()
		close(w.done)
	}()
	select {
	case w.id = <-ids:
	case <-w.done:
		t.Fatalf("ssh ended before the held line: %d %s", w.code, w.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("no held line within 30s")
	}
	return w
}

func (w *waiting) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		t.Fatal("held ssh did not end within 60s")
	}
	return w.code
}

// acceptedLogins counts the target sshd's accepted logins: a command the
// bastion denies must not even open a connection to the target.
func acceptedLogins(t *testing.T, d *sshd) int {
	t.Helper()
	return strings.Count(d.logText(t), "Accepted publickey")
}

func readEvasionCorpus(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../cmdjudge/testdata/rm_evasions.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.ReplaceAll(l, "@NL", "\n"))
		}
	}
	return out
}

// Every form of rm in the corpus is denied with its exit status and one
// stderr line, and the file it would remove is still on the target: the
// target never even saw a login for it.
func TestDeniedFormsNeverReachTarget(t *testing.T) {
	rg := newReviewGateway(t)
	canaryDir := t.TempDir()
	forms := readEvasionCorpus(t)
	if len(forms) < 30 {
		t.Fatalf("%d forms", len(forms))
	}
	before := acceptedLogins(t, rg.sshd)
	for i, f := range forms {
		canary := filepath.Join(canaryDir, fmt.Sprintf("canary%d", i))
		if err := os.WriteFile(canary, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := strings.ReplaceAll(f, "CANARY", canary)
		r := rg.ssh(t, rg.alice, "root@target", cmd)
		if r.code != exitCommandDenied {
			t.Errorf("%q: exit %d, want %d; stderr %q", cmd, r.code, exitCommandDenied, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "bastion: denied: no-deletes: ") && !strings.HasPrefix(r.stderr, "bastion: denied: no-find-delete: ") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: stderr %q, want one denied line", cmd, r.stderr)
		}
		if _, err := os.Stat(canary); err != nil {
			t.Errorf("%q reached the target: %v", cmd, err)
		}
	}
	if after := acceptedLogins(t, rg.sshd); after != before {
		t.Errorf("denied commands opened %d logins on the target", after-before)
	}
	ev := rg.audit(t, "command")
	denied := 0
	for _, e := range ev {
		if e.Outcome == "denied" && e.Identity == "alice@example.com" {
			denied++
		}
	}
	if denied != len(forms) {
		t.Errorf("%d command audit events denied, want %d", denied, len(forms))
	}
	// Allowed commands run with their output and exit status unchanged, and
	// are audited too.
	if r := rg.ssh(t, rg.alice, "root@target", "echo hello; ls "+canaryDir+" >/dev/null; cat /nonexistent"); r.code != 1 || r.stdout != "hello\n" {
		t.Errorf("allowed command: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	rg.waitAudit(t, "command", "echo hello")
}

// A held command waits, with its held line at once, and runs when a
// reviewer approves it with a correctly signed Slack button press; the
// decision is in the recording.
func TestReviewApprovedInSlack(t *testing.T) {
	rg := newReviewGateway(t)
	file := filepath.Join(t.TempDir(), "approved")
	w := rg.startHeld(t, rg.alice, []string{"-o", "SetEnv=BASTION_JUSTIFICATION=deploy-42"}, "touch "+file+" && echo done")
	if _, err := os.Stat(file); err == nil {
		t.Fatal("the held command ran before approval")
	}
	// The stand-in received the Block Kit request with the justification.
	var msg string
	deadline := time.Now().Add(30 * time.Second)
	for msg == "" && time.Now().Before(deadline) {
		for _, m := range rg.slack.Messages() {
			if strings.Contains(string(m.Raw), w.id) {
				msg = string(m.Raw)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"bastion_approve", "bastion_deny", "touch " + file, "deploy-42", "alice@example.com", "touch-needs-review"} {
		if !strings.Contains(msg, want) {
			t.Errorf("slack message lacks %q: %s", want, msg)
		}
	}
	// Someone outside the reviewers, and alice herself, are refused.
	if code := rg.press(t, "UOPS", slackreview.ActionApprove, w.id); code != http.StatusForbidden {
		t.Errorf("non-reviewer: %d", code)
	}
	if code := rg.press(t, "UALICE", slackreview.ActionApprove, w.id); code != http.StatusForbidden {
		t.Errorf("self-approval: %d", code)
	}
	if code := rg.press(t, "UCAROL", slackreview.ActionApprove, w.id); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	if code := w.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, w.stderr.String())
	}
	if w.stdout.String() != "done\n" {
		t.Errorf("stdout %q", w.stdout.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("approved command did not run: %v", err)
	}
	if !strings.Contains(w.stderr.String(), "bastion: approved: request="+w.id+" by carol@example.com (slack)") {
		t.Errorf("stderr %q", w.stderr.String())
	}
	s := rg.waitSession(t, func(s sessionRow) bool { return strings.Contains(s.Command, "touch "+file) })
	out := asciinemaCat(t, s.Recording)
	for _, want := range []string{"bastion: held: request=" + w.id, "bastion: approved: request=" + w.id + " by carol@example.com (slack)", "done"} {
		if !strings.Contains(out, want) {
			t.Errorf("asciinema cat lacks %q:\n%s", want, out)
		}
	}
	rec, _ := os.ReadFile(s.Recording)
	if !bytes.Contains(rec, []byte(`"m", "approved: request=`+w.id)) && !bytes.Contains(rec, []byte(`"m","approved: request=`+w.id)) {
		t.Errorf("no approval marker in %s", rec)
	}
	rg.waitAudit(t, "approval.refuse", "self_decision")
	rg.waitAudit(t, "approval.refuse", "not_reviewer")
}

// A reviewer's deny, and no decision by the deadline, end the held command
// without running it, each with its own exit status.
func TestReviewDeniedAndExpired(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	denied := filepath.Join(dir, "denied")
	w := rg.startHeld(t, rg.alice, nil, "touch "+denied)
	if r := rg.desk(t, rg.carol, "deny", w.id, "--reason", "'not during the freeze'"); r.code != 0 {
		t.Fatalf("desk deny: %d %s", r.code, r.stderr)
	}
	if code := w.wait(t); code != exitReviewDenied {
		t.Errorf("denied: exit %d", code)
	}
	if !strings.Contains(w.stderr.String(), "bastion: denied: request="+w.id+" by carol@example.com: not during the freeze") {
		t.Errorf("stderr %q", w.stderr.String())
	}
	expired := filepath.Join(dir, "expired")
	w2 := rg.startHeld(t, rg.alice, nil, "echo x | tee "+expired)
	if code := w2.wait(t); code != exitReviewExpired {
		t.Errorf("expired: exit %d (%s)", code, w2.stderr.String())
	}
	for _, f := range []string{denied, expired} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was created", f)
		}
	}
	// A decision after the deadline is refused and changes nothing.
	if code := rg.press(t, "UCAROL", slackreview.ActionApprove, w2.id); code != http.StatusConflict {
		t.Errorf("late approval: %d", code)
	}
}

// An agent need not hold the connection: BASTION_WAIT=0 returns the held
// line at once; once approved, BASTION_REQUEST runs the identical command
// exactly once.
func TestWaitZeroThenRequest(t *testing.T) {
	rg := newReviewGateway(t)
	file := filepath.Join(t.TempDir(), "f")
	cmd := "touch " + file
	r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_WAIT=0", cmd)
	if r.code != exitCommandHeld {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	id := heldID(t, r.stderr)
	// Not yet approved: the request is refused.
	if r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd); r.code != exitRequestRefused {
		t.Errorf("pending request ran: %d %q", r.code, r.stderr)
	}
	// The requester sees the state of her own request, with the CLI.
	if r := rg.bastionCLI(t, rg.alice, "approvals", "show", id, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"state": "pending"`) {
		t.Errorf("show own request: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := rg.bastionCLI(t, rg.alice, "approve", id, "--reason", "mine"); r.code != 1 || !strings.Contains(r.stderr, "own request") {
		t.Errorf("self-approval with the CLI: %d %q", r.code, r.stderr)
	}
	if r := rg.bastionCLI(t, rg.carol, "approvals", "list"); r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "pending") {
		t.Errorf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := rg.bastionCLI(t, rg.carol, "approve", id, "--reason", "it's fine: ticket 42"); r.code != 0 {
		t.Fatalf("approve: %d %s", r.code, r.stderr)
	}
	if r := rg.bastionCLI(t, rg.alice, "approvals", "show", id); !strings.Contains(r.stdout, "approved by carol@example.com via cli") ||
		!strings.Contains(r.stdout, "it's fine: ticket 42") {
		t.Errorf("show after approval: %s %s", r.stdout, r.stderr)
	}
	// Another command, or another identity, cannot use the approval.
	if r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd+" /tmp/other"); r.code != exitRequestRefused {
		t.Errorf("a different command used the approval: %d", r.code)
	}
	if r := rg.ssh(t, rg.carol, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd); r.code != exitRequestRefused {
		t.Errorf("another identity used the approval: %d", r.code)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("ran before its approved re-run")
	}
	r = rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd)
	if r.code != 0 {
		t.Fatalf("approved re-run: %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal("approved re-run did not run")
	}
	os.Remove(file)
	r = rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd)
	if r.code != exitRequestRefused || !strings.Contains(r.stderr, "refused: request="+id) {
		t.Errorf("second use: %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("second use ran")
	}
}

// 2-of-N needs two distinct reviewers; the requester's own approval and a
// second one by the same reviewer do not count.
func TestTwoReviewersAndSelfApproval(t *testing.T) {
	rg := newReviewGateway(t)
	dir := filepath.Join(t.TempDir(), "two")
	cmd := "mkdir " + dir
	r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_WAIT=0", cmd)
	id := heldID(t, r.stderr)
	if !strings.Contains(r.stderr, "approvals=2") {
		t.Errorf("held line %q", r.stderr)
	}
	if r := rg.desk(t, rg.alice, "approve", id, "--reason", "mine"); r.code != 1 || !strings.Contains(r.stderr, "own request") {
		t.Errorf("self-approval: %d %q", r.code, r.stderr)
	}
	if r := rg.desk(t, rg.outsider, "approve", id, "--reason", "x"); r.code != 1 {
		t.Errorf("non-reviewer: %d %q", r.code, r.stderr)
	}
	if r := rg.desk(t, rg.carol, "approve", id, "--reason", "one"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := rg.desk(t, rg.carol, "approve", id, "--reason", "again"); r.code != 1 {
		t.Errorf("same reviewer twice: %d", r.code)
	}
	if r := rg.desk(t, rg.carol, "list", "--json"); !strings.Contains(r.stdout, id) {
		t.Errorf("reviewer's list lacks the pending request: %s", r.stdout)
	}
	if r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd); r.code != exitRequestRefused {
		t.Errorf("ran on one of two approvals: %d", r.code)
	}
	if r := rg.press(t, "UDAVE", slackreview.ActionApprove, id); r != http.StatusOK {
		t.Fatalf("second approval: %d", r)
	}
	if r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+id, cmd); r.code != 0 {
		t.Fatalf("approved by two: %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Error("did not run")
	}
	show := rg.desk(t, rg.dave, "show", id)
	for _, want := range []string{"state:         approved", "approved by carol@example.com via cli", "approved by dave@example.com via slack"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, show.stdout)
		}
	}
}

// Closing the client while held withdraws the request, on the record.
func TestClientGoneWithdraws(t *testing.T) {
	rg := newReviewGateway(t)
	w := rg.startHeld(t, rg.alice, nil, "touch /tmp/never-"+fmt.Sprint(time.Now().UnixNano()))
	w.cmd.Process.Kill()
	w.wait(t)
	rg.waitAudit(t, "approval.withdraw", w.id)
	if code := rg.press(t, "UCAROL", slackreview.ActionApprove, w.id); code != http.StatusConflict {
		t.Errorf("approving a withdrawn request: %d", code)
	}
}

// waitFor polls cond until it holds, failing after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PHI in a command line or a justification is masked wherever the
// decision is kept or sent: audit events, the approval, the Slack message.
func TestCommandPHINotAtRest(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	r := rg.ssh(t, rg.alice, "root@target", "echo ok; rm '"+dir+"/notes 123-45-6789'")
	if r.code != exitCommandDenied {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = rg.ssh(t, rg.alice, "root@target", "-o", `SetEnv=BASTION_WAIT=0 BASTION_JUSTIFICATION="for jane.roe@example.org"`,
		"touch '"+dir+"/chart 123-45-6789'")
	if r.code != exitCommandHeld {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	id := heldID(t, r.stderr)
	waitFor(t, "the Slack message", func() bool { return len(rg.slack.Messages()) > 0 })
	for _, m := range rg.slack.Messages() {
		for _, v := range planted {
			if strings.Contains(string(m.Raw), v) {
				t.Errorf("the Slack message holds %q", v)
			}
		}
	}
	show := rg.desk(t, rg.carol, "show", id)
	if !strings.Contains(show.stdout, "***-**-****") || !strings.Contains(show.stdout, "justification: for ") ||
		strings.Contains(show.stdout, "jane.roe") {
		t.Errorf("show: %s", show.stdout)
	}
	// A reviewer's typed reason is free text: masked in the decision row,
	// the audit trail and the Slack message that echoes it.
	slackBefore := len(rg.slack.Messages())
	if r := rg.desk(t, rg.carol, "deny", id, "--reason", "'patient 123-45-6789 jane.roe@example.org'"); r.code != 0 {
		t.Fatalf("deny: %d %s", r.code, r.stderr)
	}
	waitFor(t, "the Slack update", func() bool { return len(rg.slack.Messages()) > slackBefore })
	for _, m := range rg.slack.Messages() {
		for _, v := range planted {
			if strings.Contains(string(m.Raw), v) {
				t.Errorf("a Slack message holds %q", v)
			}
		}
	}
	if show := rg.desk(t, rg.carol, "show", id); !strings.Contains(show.stdout, "patient ***-**-****") {
		t.Errorf("show lacks the masked reason: %s", show.stdout)
	}
	rg.waitAudit(t, "command", "***-**-****")
	rg.assertNothingAtRest(t, planted)
}
