package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// lockStore takes the write lock of the bastion's real SQLite database and
// holds it until the returned function is called: every audit write of the
// bastion then fails (after the store's busy timeout), as it would on a
// full or read-only disk. Readers (the audit CLI) still work: WAL mode.
func lockStore(t *testing.T, dir string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "bastion.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	done := false
	unlock = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Error(err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(unlock)
	return unlock
}

// While no audit record can be written, nothing the audit guards happens:
// a new session on an open connection, a new connection's command, an sftp
// operation in a running session, a port forward.
func TestAuditFailureStopsActions(t *testing.T) {
	requireTools(t, "sftp")
	policy := "access:\n  - name: ops-everywhere\n    groups: [ops]\n    targets: [\"*\"]\n    logins: [root]\n    port_forwarding: true\n"
	g := newGatewayWith(t, t.TempDir(), "", policy)
	m := startMaster(t, g, g.alice)
	if r := m.run(t, g, g.alice, "echo up"); r.code != 0 {
		t.Fatalf("master: exit %d %q", r.code, r.stderr)
	}

	// An sftp session, running before the store fails.
	sftpArgs := append(g.sshOpts(g.alice), "-b", "-", "-P", fmt.Sprint(g.port), "root@target@127.0.0.1")
	sftpCmd := exec.Command("sftp", sftpArgs...)
	stdin, err := sftpCmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := sftpCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var sftpErr syncBuffer
	sftpCmd.Stderr = &sftpErr
	if err := sftpCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sftpCmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdoutPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	fmt.Fprintln(stdin, "pwd")
	waitLine(t, lines, "Remote working directory")

	unlock := lockStore(t, g.dir)
	work := t.TempDir()

	// A new session on the open connection.
	marker := filepath.Join(work, "session-ran")
	if r := m.run(t, g, g.alice, "touch "+marker); r.code == 0 {
		t.Errorf("new session ran without audit: %q", r.stdout)
	}
	// A command on a new connection.
	marker2 := filepath.Join(work, "exec-ran")
	if r := g.ssh(t, g.alice, "root@target", "touch "+marker2); r.code == 0 {
		t.Errorf("exec ran without audit: %q", r.stdout)
	}
	// A port forward (stdio forwarding to the target's sshd).
	fwd := append(g.sshOpts(g.alice), "-o", "ControlMaster=no", "-o", "ControlPath="+m.ctl,
		"-W", g.sshd.addr, "-p", fmt.Sprint(g.port), "root@target@127.0.0.1")
	if r := runCmdInput(t, "", "ssh", fwd...); strings.Contains(r.stdout, "SSH-2.0") {
		t.Errorf("forward went through without audit: %q", r.stdout)
	}
	// An sftp upload in the running session.
	local := filepath.Join(work, "upload")
	if err := os.WriteFile(local, []byte("payload"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(work, "uploaded")
	fmt.Fprintf(stdin, "put %s %s\n", local, remote)
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- sftpCmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("sftp session carried on without audit: %s", sftpErr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("sftp session did not end")
	}
	unlock()

	for _, f := range []string{marker, marker2, remote} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s exists: the action happened without its audit record", f)
		}
	}
	// Once the store works again, so does the bastion.
	if r := g.ssh(t, g.alice, "root@target", "echo back"); r.code != 0 || !strings.Contains(r.stdout, "back") {
		t.Errorf("after the store recovered: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 30s", want)
		}
	}
}

// runCmdInput is runCmd with stdin.
func runCmdInput(t *testing.T, input, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(input)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}
