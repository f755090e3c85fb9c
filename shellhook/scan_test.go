package shellhook

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

const testNonce = "0123456789abcdef0123456789abcdef"

func req(chal, quoted string) string {
	return Marker + testNonce + ";cmd;" + chal + ";" + quoted + "\a"
}

var scanSeeds = []string{
	"plain output\r\n",
	"before" + req("123", "'rm canary'") + "after",
	Marker + testNonce + ";hello\a$ ",
	"\x1b]0;title\a" + req("9", `$'a\nb'`),
	"\x1b]7771;ffffffffffffffffffffffffffffffff;cmd;1;'x'\a",
	"\x1b[1mbold\x1b[0m\x1b",
	req("42", `'it'\''s'`) + req("43", "'ls'"),
}

// feedAll feeds data in chunks of size n and collects the result.
func feedAll(data []byte, n int) ([]byte, []Request) {
	s := NewScanner(testNonce)
	var out []byte
	var reqs []Request
	for len(data) > 0 {
		k := min(n, len(data))
		o, r := s.Feed(data[:k])
		out, reqs = append(out, o...), append(reqs, r...)
		data = data[k:]
	}
	if len(s.pend) > 0 {
		out = append(out, s.pend...) // what would be shown once the stream moves on
	}
	return out, reqs
}

func TestScannerFindsRequests(t *testing.T) {
	out, reqs := feedAll([]byte("a"+req("123", "'rm canary'")+"b"+Marker+testNonce+";hello\a"), 1<<20)
	if string(out) != "ab" {
		t.Fatalf("output %q", out)
	}
	if len(reqs) != 2 || reqs[0].Command != "rm canary" || reqs[0].Challenge != "123" || !reqs[1].Hello {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestScannerPassesOtherNonces(t *testing.T) {
	forged := "\x1b]7771;ffffffffffffffffffffffffffffffff;cmd;1;'x'\a"
	out, reqs := feedAll([]byte(forged), 3)
	if string(out) != forged || len(reqs) != 0 {
		t.Fatalf("a forged request was taken: %q %+v", out, reqs)
	}
}

func TestScannerTooLong(t *testing.T) {
	long := req("7", "'"+strings.Repeat("x", MaxRequest)+"'")
	out, reqs := feedAll([]byte(long+"tail"), 4096)
	if string(out) != "tail" || len(reqs) != 1 || !errors.Is(reqs[0].Err, ErrTooLong) || reqs[0].Challenge != "7" {
		t.Fatalf("out %q reqs %+v", out, reqs)
	}
}

// Every chunking of a stream gives the same output and requests.
func FuzzScannerChunking(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		whole, wr := feedAll(data, len(data)+1)
		parts, pr := feedAll(data, int(n)%16+1)
		if !bytes.Equal(whole, parts) || len(wr) != len(pr) {
			t.Fatalf("chunked %q/%d != whole %q/%d", parts, len(pr), whole, len(wr))
		}
		for i := range wr {
			if wr[i].Command != pr[i].Command || wr[i].Challenge != pr[i].Challenge {
				t.Fatalf("request %d differs", i)
			}
		}
	})
}

// Unquote reads what bash's ${x@Q} writes, for awkward commands.
func TestUnquoteBashQuoting(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmds := []string{"rm canary", "echo 'it''s' \"$HOME\"", "printf '\\e]0;x\\a'", "a\nb\tc\x01", "\x1b]7771;x\a", "é ü ✓", `\rm -rf /`}
	for _, c := range cmds {
		out, err := exec.Command("bash", "-c", `printf %s "${1@Q}"`, "x", c).Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unquote(string(out))
		if err != nil || got != c {
			t.Errorf("Unquote(%q) = %q, %v; want %q", out, got, err, c)
		}
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range []string{"'x'", `$'a\nb'`, `'a'\''b'`, "$(rm x)", "`x`", "$x", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		s, err := Unquote(q)
		if err == nil && strings.ContainsAny(q, "`") && !strings.Contains(q, "'") {
			t.Fatalf("%q unquoted to %q", q, s)
		}
	})
}

// The work on the bastion's side for one command: scan, unquote, check.
// (make bench measures; go test only runs it once.)
func BenchmarkRequest(b *testing.B) {
	data := []byte("prompt$ " + req("1234567890", `'ls -la /var/log | grep -v x && echo "done"'`))
	for i := 0; i < b.N; i++ {
		s := NewScanner(testNonce)
		_, reqs := s.Feed(data)
		_ = Tampers(reqs[0].Command)
		_ = SeenThrough(reqs[0].Command)
	}
}
