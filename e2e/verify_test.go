package e2e

import (
	"crypto/ed25519"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/recorder"
)

// verifyFixture is a stopped bastion's data directory holding two closed
// sessions, with its tree heads witnessed in a file outside it.
type verifyFixture struct {
	dir     string // the original data directory
	witness string
	one     sessionRow
	two     sessionRow
}

func newVerifyFixture(t *testing.T) verifyFixture {
	t.Helper()
	witness := filepath.Join(t.TempDir(), "witness", "head")
	g := newGatewayIn(t, t.TempDir(), "evidence:\n  witness_file: "+witness+"\n")
	for _, cmd := range []string{"echo one", "echo two"} {
		if r := g.ssh(t, g.alice, "root@target", cmd); r.code != 0 {
			t.Fatalf("%s: exit %d %s", cmd, r.code, r.stderr)
		}
	}
	f := verifyFixture{dir: g.dir, witness: witness,
		one: g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo one" }),
		two: g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo two" })}
	g.stop() // the last audit checkpoint is written at shutdown
	return f
}

// copyData copies the data directory to a new folder, as an auditor (or
// an attacker) would.
func (f verifyFixture) copyData(t *testing.T) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if r := runCmd(t, "cp", "-a", f.dir, to); r.code != 0 {
		t.Fatalf("cp: %s", r.stderr)
	}
	return to
}

func verifyAllIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runCmd(t, bastionBin, append([]string{"verify", "--all", "--data", dir}, args...)...)
}

func execSQL(t *testing.T, dir string, queries ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "bastion.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func wantProblem(t *testing.T, r result, substrs ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("verify passed:\n%s", r.stdout)
	}
	for _, s := range substrs {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("verify output lacks %q:\n%s%s", s, r.stdout, r.stderr)
		}
	}
}

// Verify checks the data directory it is given: an untouched copy in
// another folder verifies clean, and a tampered copy fails, even though
// the original it was copied from is intact.
func TestVerifyChecksTheCopyItIsGiven(t *testing.T) {
	f := newVerifyFixture(t)
	clean := f.copyData(t)
	r := verifyAllIn(t, clean, "--witness", f.witness)
	if r.code != 0 || !strings.Contains(r.stdout, "all 2 recorded sessions verified") ||
		!strings.Contains(r.stdout, "extended to") || !strings.Contains(r.stdout, "checkpoints matched") {
		t.Fatalf("untouched copy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, f.dir) {
		t.Errorf("verify of the copy mentions the original directory:\n%s", r.stdout)
	}

	tampered := f.copyData(t)
	rec := filepath.Join(tampered, mustRel(t, f.dir, f.one.Recording))
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, []byte(strings.Replace(string(data), "one", "0ne", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, verifyAllIn(t, tampered), "session "+f.one.ID+":", "chain")

	// An audit event edited in a copy is named by its sequence number.
	edited := f.copyData(t)
	execSQL(t, edited, `UPDATE audit_events SET identity = 'mallory@example.com'
		WHERE seq = (SELECT MIN(seq) FROM audit_events WHERE type = 'session.start')`)
	wantProblem(t, verifyAllIn(t, edited), "audit trail: audit event", "was modified")
	if r := verifyAllIn(t, f.dir); r.code != 0 {
		t.Errorf("the original stopped verifying: %s", r.stdout)
	}
}

// A session whose files were deleted and whose row was blanked (no
// recording, not ended) is named, as is a recording without its row.
func TestVerifyNamesBlankedRowsAndOrphans(t *testing.T) {
	f := newVerifyFixture(t)
	dir := f.copyData(t)
	execSQL(t, dir, `UPDATE sessions SET recording = '', ended_at = NULL, exit_status = NULL WHERE id = '`+f.two.ID+`'`)
	stem := strings.TrimSuffix(filepath.Join(dir, mustRel(t, f.dir, f.two.Recording)), ".cast")
	for _, suffix := range []string{".cast", ".manifest.json", ".checkpoints"} {
		os.Remove(stem + suffix)
	}
	wantProblem(t, verifyAllIn(t, dir), "session "+f.two.ID+": the database row names no recording")

	// A recording whose row is gone; a row whose identity was changed.
	dir = f.copyData(t)
	execSQL(t, dir, `DELETE FROM sessions WHERE id = '`+f.two.ID+`'`,
		`UPDATE sessions SET identity = 'mallory@example.com', exit_status = 7 WHERE id = '`+f.one.ID+`'`)
	wantProblem(t, verifyAllIn(t, dir),
		"session "+f.two.ID+": in the signed session log but not in the database",
		`the database row says identity "mallory@example.com", the signed recording "alice@example.com"`,
		"the database row says exit 7, the signed manifest exit 0", "bad        "+f.one.ID)
}

// Restoring an older log/ and deleting the newer sessions with their
// audit rows is caught by the witnessed tree head, by a head the auditor
// saved with `bastion log head`, and by the audit chain.
func TestVerifyCatchesRollback(t *testing.T) {
	f := newVerifyFixture(t)
	head := filepath.Join(t.TempDir(), "head.txt")
	r := runCmd(t, bastionBin, "log", "head", "--data", f.dir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "bastion session log v1\n") {
		t.Fatalf("log head: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(head, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := verifyAllIn(t, f.dir, "--tree-head", head); r.code != 0 {
		t.Fatalf("saved head against its own log: %s%s", r.stdout, r.stderr)
	}

	dir := f.copyData(t)
	// An older log: the records up to (not including) session two's,
	// signed by the same key, byte for byte what a backup would hold.
	key, err := certauth.LoadEd25519(filepath.Join(f.dir, "signing_key"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := recorder.ReadLog(filepath.Join(f.dir, "log"), key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "log"))
	old, err := recorder.OpenLog(filepath.Join(dir, "log"), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.SessionID == f.two.ID {
			break
		}
		if _, err := old.Append(e.Raw); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	stem := strings.TrimSuffix(filepath.Join(dir, mustRel(t, f.dir, f.two.Recording)), ".cast")
	for _, suffix := range []string{".cast", ".manifest.json", ".checkpoints"} {
		os.Remove(stem + suffix)
	}
	execSQL(t, dir, `DELETE FROM sessions WHERE id = '`+f.two.ID+`'`,
		`DELETE FROM audit_events WHERE seq >= (SELECT MIN(seq) FROM audit_events WHERE session_id = '`+f.two.ID+`')`)
	const rolledBack = "records were removed or the log was restored from an older copy"
	wantProblem(t, verifyAllIn(t, dir, "--witness", f.witness), "tree head in "+f.witness, rolledBack)
	wantProblem(t, verifyAllIn(t, dir, "--tree-head", head), rolledBack)
	// With no saved head at all, the audit chain's checkpoints are gone with
	// the old log, but the verdict still says what cannot be told.
	r = verifyAllIn(t, dir)
	if !strings.Contains(r.stdout, "no saved tree head") {
		t.Errorf("verify without a saved head does not say what it cannot tell:\n%s", r.stdout)
	}
	// And the bastion refuses to start on the rolled-back directory.
	cfg, err := os.ReadFile(filepath.Join(f.dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o600)
	r = runCmd(t, bastionBin, "serve", "--config", filepath.Join(dir, "config.yaml"))
	if r.code == 0 || !strings.Contains(r.stderr, rolledBack) {
		t.Errorf("serve on a rolled-back log: exit %d %s", r.code, r.stderr)
	}
}

func mustRel(t *testing.T, base, path string) string {
	t.Helper()
	rel, err := filepath.Rel(base, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is not inside %s", path, base)
	}
	return rel
}
