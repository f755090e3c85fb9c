package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// The adversary corpus: a user with a shell on the target tries to get a
// valid value onto the client's screen or into the bastion's files past the
// masker. Every trick runs end to end (real ssh, bastion, real sshd) at
// three paces: the parts back to back, 50 ms apart and 1 s apart (the pause
// is part of the target's command, the input under test). The client's
// output is checked as bytes and as a terminal (charmbracelet/x/vt, an
// emulator independent of the masker's own model) shows it, the data
// directory's files as bytes and its recordings as screens; decoys that
// only look like values must come through untouched.

// adversaryValues are the valid values the tricks plant, as a screen shows
// them once look-alikes are read as ASCII.
var adversaryValues = []string{
	"123-45-6789", "123456789", "123.45.6789", "4539 1488 0343 6467", "4539148803436467",
	"jane.roe@example.org", "(415) 555-0134", "4155552671", "1980-01-02", "MRN1234567",
}

// adversaryDecoys are printed before every trick and must stay as they are.
var adversaryDecoys = []string{
	"000-12-3456", "078-05-1120", "ORD-2024-0001", "1.2.3-45", "blk_-4111111111111111",
	"7024 5015 150454 240", "2024-01-15 12:34:56",
}

// A trick is the parts of a printf format the target prints with pauses
// between them; a part starting with "2>" goes to stderr.
type trick struct {
	name  string
	parts []string
	value string // what must never show whole
}

func adversaryTricks() []trick {
	sgr := strings.Repeat(`\033[1;31m\033[0m`, 25)
	clip := base64.StdEncoding.EncodeToString([]byte("ssn 123-45-6789"))
	return []trick{
		{"dashed", []string{`SSN 123-`, `45-`, `6789\n`}, "123-45-6789"},
		{"card", []string{`card 4539 1488 `, `0343 6467\n`}, "4539 1488 0343 6467"},
		{"card-plain", []string{`pan 45391488`, `03436467\n`}, "4539148803436467"},
		{"email", []string{`mail jane.roe@`, `example.org\n`}, "jane.roe@example.org"},
		{"phone", []string{`call (415) 555-`, `0134\n`}, "(415) 555-0134"},
		{"dob", []string{`DOB: 1980-`, `01-02\n`}, "1980-01-02"},
		{"undashed-context", []string{`SSN: 1234`, `56789\n`}, "123456789"},
		{"dotted", []string{`id 123.45.`, `6789\n`}, "123.45.6789"},
		{"phone-context", []string{`phone: 41555`, `52671\n`}, "4155552671"},
		{"mrn-glued", []string{`MRN`, `1234567\n`}, "MRN1234567"},
		{"underscore", []string{`patient_123-45-`, `6789\n`}, "123-45-6789"},
		{"csv-column", []string{`id,name,ssn\n1,Roe,1234`, `56789\n`}, "123456789"},
		{"stdout-stderr", []string{`123-45-`, `2>6789\n`}, "123-45-6789"},
		{"cha", []string{`123-45-`, `\033[8G6789\n`}, "123-45-6789"},
		{"cup", []string{`\033[2J\033[3;1H123-45-`, `\033[3;8H6789\n`}, "123-45-6789"},
		{"save-restore", []string{`\0337       6789`, `\0338123-45-\n`}, "123-45-6789"},
		{"overwrite", []string{`000-00-6789\r`, `123-45\n`}, "123-45-6789"},
		{"si-so-nul", []string{`123\016-45\017-`, `\0006789\n`}, "123-45-6789"},
		{"zero-width", []string{`123\342\200\213-45-`, `\342\200\2136789\n`}, "123-45-6789"},
		{"unicode-hyphen", []string{`123\342\200\22045`, `\342\210\2226789\n`}, "123-45-6789"},
		{"fullwidth", []string{`\357\274\221\357\274\222\357\274\223-45-`, `6789\n`}, "123-45-6789"},
		{"sgr-between", []string{`123-` + sgr, `45-` + sgr + `6789\n`}, "123-45-6789"},
		{"osc-title", []string{`\033]0;SSN 123-45-`, `6789\007done\n`}, "123-45-6789"},
		{"osc52-clipboard", []string{`\033]52;c;` + clip[:8], clip[8:] + `\007\n`}, "123-45-6789"},
	}
}

// adversaryCommand is the target's command for a trick at a pace.
func adversaryCommand(tr trick, pause string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "printf '%s\\n'", strings.Join(adversaryDecoys, " "))
	for i, p := range tr.parts {
		if i > 0 && pause != "" {
			fmt.Fprintf(&b, "; sleep %s", pause)
		}
		if rest, ok := strings.CutPrefix(p, "2>"); ok {
			fmt.Fprintf(&b, "; printf '%s' >&2", rest)
		} else {
			fmt.Fprintf(&b, "; printf '%s'", p)
		}
	}
	return b.String()
}

// lookalikes reads what a person reads: look-alike digits and hyphens as
// ASCII, zero-width and control characters as nothing.
var lookalikes = func() *strings.Replacer {
	var pairs []string
	for d := '0'; d <= '9'; d++ {
		pairs = append(pairs, string(rune(0xff10+d-'0')), string(d))
	}
	for _, h := range []rune{0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xfe63, 0xff0d} {
		pairs = append(pairs, string(h), "-")
	}
	for _, z := range []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\x00", "\x0e", "\x0f"} {
		pairs = append(pairs, z, "")
	}
	return strings.NewReplacer(pairs...)
}()

// screenText renders out on an 80×24 terminal and returns the scrollback
// and the screen as text, look-alikes read as ASCII.
func screenText(out string) string {
	e := vt.NewEmulator(80, 24)
	e.SetScrollbackSize(10000)
	e.Write([]byte(strings.ReplaceAll(out, "\n", "\r\n")))
	var b strings.Builder
	for y := 0; y < e.ScrollbackLen(); y++ {
		for x := 0; x < e.Width(); x++ {
			if c := e.ScrollbackCellAt(x, y); c != nil {
				b.WriteString(c.Content)
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	b.WriteString(e.String())
	return lookalikes.Replace(b.String())
}

// shows reports which of values out shows, as bytes or on a screen.
func shows(out string, values []string) []string {
	var found []string
	raw, screen := lookalikes.Replace(out), screenText(out)
	for _, v := range values {
		if strings.Contains(raw, v) || strings.Contains(screen, v) {
			found = append(found, v)
		}
	}
	return found
}

func TestMaskingAdversaryCorpus(t *testing.T) {
	remote := t.TempDir()
	g := newRulesGateway(t, `files:
  default: pass
  rules:
    - {path: "**/*.csv", action: mask}
`)
	type run struct {
		name, cmd, value string
	}
	var runs []run
	for _, tr := range adversaryTricks() {
		for _, pace := range []struct{ name, pause string }{{"back-to-back", ""}, {"50ms", "0.05"}, {"1s", "1"}} {
			runs = append(runs, run{tr.name + "/" + pace.name, adversaryCommand(tr, pace.pause), tr.value})
		}
	}
	if len(runs) < 60 {
		t.Fatalf("only %d cases", len(runs))
	}
	// Sessions in parallel, a few at a time, to keep the run short.
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// stdout and stderr on one pipe, interleaved as on a terminal.
			args := append(g.sshOpts(g.alice), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", r.cmd)
			b, err := exec.Command("ssh", args...).CombinedOutput()
			out := string(b)
			if err != nil {
				t.Errorf("%s: %v: %s", r.name, err, out)
			}
			if leaked := shows(out, adversaryValues); len(leaked) > 0 {
				t.Errorf("%s: the client was shown %q:\n%q", r.name, leaked, out)
			}
			for _, d := range adversaryDecoys {
				if !strings.Contains(out, d) {
					t.Errorf("%s: decoy %q was altered:\n%q", r.name, d, out)
				}
			}
		}()
	}
	wg.Wait()

	t.Run("csv-over-sftp-masked", func(t *testing.T) {
		csv := "id,name,ssn,phone,dob\n1,Roe,123456789,4155552671,1980-01-02\n2,Doe,123-45-6789,(415) 555-0134,2024-01-15\n"
		if err := os.WriteFile(filepath.Join(remote, "123-45-6789.csv"), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		local := t.TempDir()
		batch := filepath.Join(local, "batch")
		os.WriteFile(batch, []byte(fmt.Sprintf("ls -1 %s\nget %s/123-45-6789.csv %s/got.csv\n", remote, remote, local)), 0o600)
		r := runCmd(t, "sftp", append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port), "-b", batch, "root@target@127.0.0.1")...)
		if r.code != 0 {
			t.Fatalf("sftp: %d %s", r.code, r.stderr)
		}
		got, err := os.ReadFile(filepath.Join(local, "got.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var listing strings.Builder // the server's answers, not the batch sftp echoes
		for _, l := range strings.Split(r.stdout, "\n") {
			if !strings.HasPrefix(l, "sftp> ") {
				listing.WriteString(l + "\n")
			}
		}
		if leaked := shows(string(got)+listing.String(), adversaryValues); len(leaked) > 0 {
			t.Errorf("sftp showed %q:\n%s\n%s", leaked, r.stdout, got)
		}
		if !strings.Contains(r.stdout, "***-**-****.csv") || len(got) != len(csv) || !strings.HasPrefix(string(got), "id,name,ssn,phone,dob\n") {
			t.Errorf("listing %q, download %q", r.stdout, got)
		}
	})

	assertNoValueAtRest(t, g.bastion)
}

// assertNoValueAtRest checks every file under the data directory for the
// planted values as bytes, and every recording as the screen it replays.
func assertNoValueAtRest(t *testing.T, b *bastion) {
	t.Helper()
	b.assertNothingAtRest(t, adversaryValues)
	filepath.Walk(b.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".cast") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		defer f.Close()
		var out strings.Builder
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var ev []any
			if json.Unmarshal(sc.Bytes(), &ev) != nil || len(ev) < 3 || ev[1] != "o" {
				continue
			}
			s, _ := ev[2].(string)
			out.WriteString(s)
		}
		if leaked := shows(out.String(), adversaryValues); len(leaked) > 0 {
			t.Errorf("recording %s replays %q", path, leaked)
		}
		return nil
	})
}

// ptySession runs ssh -tt for cmd in a pty, feeds it keys (each after the
// previous one's pause) and returns everything the client's terminal got.
func ptySession(t *testing.T, g *gateway, cmd string, keys []string, pause time.Duration) string {
	t.Helper()
	args := append(g.sshOpts(g.alice), "-tt", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", cmd)
	c := exec.Command("ssh", args...)
	f, err := pty.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(out.String(), s)
	}
	// The target is ready once it printed its first line.
	for deadline := time.Now().Add(20 * time.Second); !seen("ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt from the target")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range keys {
		f.Write([]byte(k))
		time.Sleep(pause) // the typist's pace: input, not synchronisation
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.Process.Kill()
		t.Errorf("session did not end")
	}
	c.Wait()
	f.Close()
	mu.Lock()
	defer mu.Unlock()
	return out.String()
}

// A value typed key by key at a shell: the client sees its own typing,
// the command's output is masked, and the recording holds neither.
func TestMaskingTypedValueInPty(t *testing.T) {
	g := newGateway(t)
	var keys []string
	for _, c := range "echo 123-45-6789\r" {
		keys = append(keys, string(c))
	}
	keys = append(keys, "exit\r")
	for _, pause := range []time.Duration{0, 50 * time.Millisecond} {
		out := ptySession(t, g, "echo ready; PS1='$ ' exec bash --norc --noprofile -i", keys, pause)
		screen := screenText(out)
		if !strings.Contains(screen, "***-**-****") {
			t.Errorf("pause %v: the command's output was not masked:\n%s", pause, screen)
		}
		if strings.Count(lookalikes.Replace(out), "123-45-6789") > 1 {
			t.Errorf("pause %v: the value came back from the target raw:\n%q", pause, out)
		}
	}
	assertNoValueAtRest(t, g.bastion)
}

// Echo off, and the client typing while the target prints a value one
// character at a time: no keystroke lets output past the masker.
func TestMaskingEchoOffDuringOutput(t *testing.T) {
	g := newGateway(t)
	cmd := `stty -echo; echo ready; s=123-45-6789; for i in 0 1 2 3 4 5 6 7 8 9 10; do printf '%s' "${s:$i:1}"; sleep 0.05; done; echo; sleep 0.3`
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = string(rune('1' + i%9))
	}
	out := ptySession(t, g, cmd, keys, 20*time.Millisecond)
	if leaked := shows(out, adversaryValues); len(leaked) > 0 {
		t.Errorf("the client was shown %q:\n%q", leaked, out)
	}
	assertNoValueAtRest(t, g.bastion)
}

// A value in the SSH user name reaches neither the audit trail, the
// session rows nor the bastion's log.
func TestMaskingLoginName(t *testing.T) {
	g := newGateway(t)
	for _, user := range []string{"123-45-6789@target", "root@123-45-6789"} {
		r := g.ssh(t, g.alice, user, "true")
		if r.code == 0 {
			t.Errorf("%s: logged in", user)
		}
	}
	g.ssh(t, g.alice, "root@target", "echo 123-45-6789 >/dev/null")
	g.waitAudit(t, "auth.certificate", "***-**-****@target")
	assertNoValueAtRest(t, g.bastion)
}
