package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bastion-ssh/bastion/internal/pgtest"
)

// Someone who can write the shared database but has not the signing key
// adds a record after the session log's signed head, to have it signed
// into the log by the next append. The node refuses to sign over it: the
// next session's close is audited recording.failed, and verify --all
// names the forged record.
func TestSharedLogForgedRecordIsNotSigned(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	g := pgNode(t, dsn, testPolicy)
	if r := g.ssh(t, g.alice, "root@target", "echo before"); r.code != 0 {
		t.Fatalf("session: exit %d %q", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO log_records (idx, record)
		SELECT MAX(size), convert_to('{"type":"bastion.session.v1","session_id":"forged"}', 'UTF8') FROM log_heads`); err != nil {
		t.Fatal(err)
	}

	if r := g.ssh(t, g.alice, "root@target", "echo after"); r.code != 0 || r.stdout != "after\n" {
		t.Fatalf("session: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	waitFor(t, "the refused append audited", func() bool {
		r := runCmd(t, bastionBin, "audit", "--json", "--type", "recording.failed", "--config", g.config)
		return r.code == 0 && strings.Contains(r.stdout, "1 records after the signed head")
	})
	r := runCmd(t, bastionBin, "verify", "--all", "--json", "--config", g.config)
	var rep struct {
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --all: %v: %s%s", err, r.stdout, r.stderr)
	}
	if r.code != 1 || !strings.Contains(strings.Join(rep.Problems, "\n"), "session log: recorder: session log mismatch: 1 records after the signed head") {
		t.Errorf("verify --all: exit %d, problems %q", r.code, rep.Problems)
	}
}
