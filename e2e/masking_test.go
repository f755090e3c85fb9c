package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// Synthetic identifiers planted in the output; none is a real person's.
var planted = []string{
	"123-45-6789",         // SSN
	"4539 1488 0343 6467", // card (Luhn-valid test number)
	"jane.roe@example.org",
	"(415) 555-0134",
}

const patientsCSV = `id,name,ssn,card,email,phone
1,Jane Roe,123-45-6789,4539 1488 0343 6467,jane.roe@example.org,(415) 555-0134
2,Order,ORD-2024-0001,version 1.2.3-45,2024-01-15 12:34:56,build 078-05-1120
`

// No raw identifier reaches the client, the recording, the database or
// the logs, whatever the output looks like; output keeps its length.
func TestMaskingEndToEnd(t *testing.T) {
	g := newGateway(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "patients.csv")
	if err := os.WriteFile(csv, []byte(patientsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, cmd string }{
		{"cat-csv", "cat " + csv},
		{"colored-grep", "grep --color=always -E '[0-9]{3}-[0-9]{2}' " + csv},
		{"psql-table", `printf ' id | ssn         | email\n----+-------------+----------------------\n  1 | 123-45-6789 | jane.roe@example.org\n(1 row)\n'`},
		{"stderr", "echo 'card 4539 1488 0343 6467' >&2"},
		{"planted-in-command", "echo '(415) 555-0134' >/dev/null; echo done"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.ssh(t, g.alice, "root@target", c.cmd)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, v := range planted {
				if strings.Contains(r.stdout+r.stderr, v) {
					t.Errorf("client saw %q:\n%s%s", v, r.stdout, r.stderr)
				}
			}
		})
	}
	// Same-length masking keeps columns: the CSV comes back byte for byte
	// the same length, with non-PHI lookalikes untouched.
	r := g.ssh(t, g.alice, "root@target", "cat "+csv)
	if len(r.stdout) != len(patientsCSV) || !strings.Contains(r.stdout, "***-**-****") {
		t.Errorf("masked CSV:\n%s", r.stdout)
	}
	for _, keep := range []string{"ORD-2024-0001", "1.2.3-45", "2024-01-15 12:34:56", "078-05-1120"} {
		if !strings.Contains(r.stdout, keep) {
			t.Errorf("masked a non-identifier %q:\n%s", keep, r.stdout)
		}
	}

	// A full-screen program through a pty (alternate screen, cursor moves).
	args := append(g.sshOpts(g.alice), "-tt", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1",
		`printf '\033[?1049h\033[2J\033[5;10HPatient SSN: 123-45-6789\033[6;10Hemail jane.roe@example.org\033[?1049l'; sleep 0.2`)
	cmd := exec.Command("ssh", args...)
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	io.Copy(&screen, f)
	cmd.Wait()
	f.Close()
	if !strings.Contains(screen.String(), "\x1b[5;10HPatient SSN: ***-**-****") {
		t.Errorf("full-screen output not masked in place: %q", screen.String())
	}

	g.waitAudit(t, "masking.applied", "ssn")
	g.assertNothingAtRest(t, planted)
}
