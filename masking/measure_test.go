package masking

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// TestRecallAndFalsePositives measures the masker on data nobody here
// wrote, and anyone can rerun it (make measure, or go test ./masking -run
// TestRecallAndFalsePositives -v):
//
//   - recall: values from an independent generator (gofakeit, fixed seed)
//     laid out as CSV, JSON lines, a psql table and prose; a value counts
//     as masked when every letter and digit of it became '*'. Only values
//     valid for their type count (SSA rules for SSNs, NANP numbers, a known
//     card brand); the generator draws some invalid ones.
//   - wrongly altered lines: output of ordinary commands on this machine
//     and its system logs, which hold no PHI; a line counts if the masker
//     changed anything in it other than a real e-mail address (authors'
//     addresses in C headers: every e-mail address is masked by design, so
//     those are counted apart). The sources are split in two: "tuning"
//     (looked at while the recognizers were written) and "held out".
//
// The streams are written in chunks of varying size, as a session's output
// arrives. The goals are 100% recall in every layout and at most 2 wrongly
// altered lines per 10,000.
func TestRecallAndFalsePositives(t *testing.T) {
	m := newTestMasker(t, Config{})
	type tally struct{ masked, total int }
	recall := map[string]map[string]*tally{} // layout → type
	missed := map[string][]string{}
	for _, layout := range []string{"csv", "json", "psql", "prose"} {
		doc, spans := fakeDocument(layout, 300)
		out, _ := maskChunked(m, doc)
		recall[layout] = map[string]*tally{}
		for _, sp := range spans {
			tl := recall[layout][sp.typ]
			if tl == nil {
				tl = &tally{}
				recall[layout][sp.typ] = tl
			}
			tl.total++
			from := sp.start
			if sp.typ == "email" {
				from++ // the first character stays by design
			}
			if fullyMasked(doc[from:sp.end], out[from:sp.end]) {
				tl.masked++
			} else if len(missed[sp.typ]) < 5 {
				missed[sp.typ] = append(missed[sp.typ], layout+": "+doc[sp.start:sp.end])
			}
		}
	}
	types := []string{"ssn", "ssn-undashed", "card", "email", "phone", "phone-bare", "dob", "mrn"}
	var b strings.Builder
	fmt.Fprintf(&b, "\nrecall (masked/valid values)\n%-8s", "layout")
	for _, ty := range types {
		fmt.Fprintf(&b, " %13s", ty)
	}
	allMasked := true
	for _, layout := range []string{"csv", "json", "psql", "prose"} {
		fmt.Fprintf(&b, "\n%-8s", layout)
		for _, ty := range types {
			tl := recall[layout][ty]
			if tl == nil {
				fmt.Fprintf(&b, " %13s", "-")
				continue
			}
			fmt.Fprintf(&b, " %13s", fmt.Sprintf("%d/%d", tl.masked, tl.total))
			allMasked = allMasked && tl.masked == tl.total
		}
	}
	b.WriteString("\n\nwrongly altered lines\n")
	fpTotal, linesTotal := 0, 0
	for _, part := range []string{"tuning", "held out"} {
		altered, lines := 0, 0
		for _, src := range realSources {
			if src.part != part {
				continue
			}
			text := runSource(src.cmd)
			if text == "" {
				continue
			}
			out, findings := maskChunked(m, text)
			in, got := strings.Split(text, "\n"), strings.Split(out, "\n")
			emailOnly := map[int]bool{} // lines whose only findings are e-mail addresses
			lineOf := func(off int64) int { return strings.Count(text[:off], "\n") }
			for _, f := range findings {
				l := lineOf(f.Offset)
				if _, seen := emailOnly[l]; !seen {
					emailOnly[l] = true
				}
				emailOnly[l] = emailOnly[l] && f.Recognizer == "email"
			}
			n, mails := 0, 0
			for i := range in {
				if in[i] == got[i] {
					continue
				}
				if emailOnly[i] {
					mails++
					continue
				}
				n++
				if n <= 3 {
					t.Logf("%s altered: %q -> %q", src.name, in[i], got[i])
				}
			}
			fmt.Fprintf(&b, "  %-9s %-26s %6d lines %4d altered (+%d e-mail)\n", part, src.name, len(in), n, mails)
			altered += n
			lines += len(in)
		}
		if lines > 0 {
			fmt.Fprintf(&b, "  %-9s %-26s %6d lines %4d altered = %.1f per 10,000\n", part, "total", lines, altered, float64(altered)*10000/float64(lines))
		}
		fpTotal += altered
		linesTotal += lines
	}
	t.Log(b.String())
	for layout, vs := range missed {
		t.Logf("missed in %s (first few): %q", layout, vs)
	}
	if !allMasked {
		t.Errorf("recall below 100%%")
	}
	if linesTotal > 0 && fpTotal*10000 > 2*linesTotal {
		t.Errorf("%d of %d ordinary lines altered: more than 2 per 10,000", fpTotal, linesTotal)
	}
}

type span struct {
	typ        string
	start, end int
}

// fakeDocument lays out n generated records and returns the text and where
// each valid value is.
func fakeDocument(layout string, n int) (string, []span) {
	f := gofakeit.New(20261130)
	var b strings.Builder
	var spans []span
	put := func(typ, v string, valid bool) {
		if valid {
			spans = append(spans, span{typ, b.Len(), b.Len() + len(v)})
		}
		b.WriteString(v)
	}
	cols := []string{"ssn", "card", "email", "phone", "dob", "mrn"}
	switch layout {
	case "csv":
		b.WriteString("id,name," + strings.Join(cols, ",") + "\n")
	case "psql":
		b.WriteString("  id | name                 | " + strings.Join(cols, " | ") + "\n")
		b.WriteString("-----+----------------------+-----+------+-------+-------+-----+-----\n")
	}
	for i := 1; i <= n; i++ {
		r := fakeRecord(f, i)
		sep, quote := ",", ""
		switch layout {
		case "csv":
			fmt.Fprintf(&b, "%d,%s", i, r.name)
		case "json":
			fmt.Fprintf(&b, `{"id":%d,"name":%q`, i, r.name)
			sep, quote = ",", `"`
		case "psql":
			fmt.Fprintf(&b, "%4d | %-20s", i, r.name)
			sep = " | "
		case "prose":
			fmt.Fprintf(&b, "Patient %s (SSN ", r.name)
			put(r.ssnType, r.ssn, r.ssnValid)
			b.WriteString(") paid with card ")
			put("card", r.card, r.cardValid)
			b.WriteString("; reach them at ")
			put("email", r.email, true)
			b.WriteString(" or phone ")
			put(r.phoneType, r.phone, r.phoneValid)
			b.WriteString(". Born ")
			put("dob", r.dob, true)
			b.WriteString(", MRN ")
			put("mrn", r.mrn, true)
			b.WriteString(".\n")
			continue
		}
		vals := []struct {
			typ, v string
			ok     bool
		}{{r.ssnType, r.ssn, r.ssnValid}, {"card", r.card, r.cardValid}, {"email", r.email, true},
			{r.phoneType, r.phone, r.phoneValid}, {"dob", r.dob, true}, {"mrn", r.mrn, true}}
		for k, v := range vals {
			b.WriteString(sep)
			if layout == "json" {
				fmt.Fprintf(&b, "%q:", cols[k])
			}
			q := quote
			if layout == "csv" && strings.Contains(v.v, ",") {
				q = `"` // a field with a comma is quoted (RFC 4180)
			}
			b.WriteString(q)
			put(v.typ, v.v, v.ok)
			b.WriteString(q)
		}
		if layout == "json" {
			b.WriteString("}")
		}
		b.WriteString("\n")
	}
	return b.String(), spans
}

type fakeRec struct {
	name, ssn, ssnType, card, email, phone, phoneType, dob, mrn string
	ssnValid, cardValid, phoneValid                             bool
}

func fakeRecord(f *gofakeit.Faker, i int) fakeRec {
	r := fakeRec{name: f.Name(), email: f.Email(), mrn: f.Numerify("#######")}
	s := f.SSN()
	area, group, serial := atoi(s[:3]), atoi(s[3:5]), atoi(s[5:])
	r.ssnValid = validSSN(area, group, serial)
	r.ssn, r.ssnType = s, "ssn-undashed"
	if i%2 == 0 {
		r.ssn, r.ssnType = s[:3]+"-"+s[3:5]+"-"+s[5:], "ssn"
	}
	r.card = f.CreditCardNumber(&gofakeit.CreditCardOptions{
		Types: []string{"visa", "mastercard", "american-express", "discover", "diners-club", "jcb"}, Gaps: i%2 == 0})
	// Valid: Luhn and a published issuer prefix and length (ISO/IEC 7812
	// ranges as the schemes publish them); the generator also draws
	// lengths no scheme issues, such as 17 digits after JCB's 2131.
	var digits []byte
	for _, c := range r.card {
		if c >= '0' && c <= '9' {
			digits = append(digits, byte(c-'0'))
		}
	}
	r.cardValid = cardOK(digits)
	p := f.Phone()
	r.phoneValid = len(p) == 10 && nxx(p[0]) && nxx(p[3])
	r.phone, r.phoneType = p, "phone-bare"
	if i%2 == 0 {
		r.phone, r.phoneType = "("+p[:3]+") "+p[3:6]+"-"+p[6:], "phone"
	}
	d := f.DateRange(time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC))
	r.dob = d.Format([]string{"2006-01-02", "01/02/2006", "Jan 2, 2006", "2 January 2006"}[i%4])
	return r
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// fullyMasked reports whether every letter and digit of in became '*'.
func fullyMasked(in, out string) bool {
	for i := 0; i < len(in); i++ {
		if isAlnum(in[i]) && out[i] != '*' {
			return false
		}
	}
	return true
}

// maskChunked writes text through a Stream in chunks of 1 to 4096 bytes.
func maskChunked(m *Masker, text string) (string, []Finding) {
	s := m.NewStream()
	var out []byte
	sizes := []int{4096, 7, 1500, 1, 333, 64}
	for i, k := 0, 0; i < len(text); k++ {
		n := min(sizes[k%len(sizes)], len(text)-i)
		out = s.AppendWrite(out, []byte(text[i:i+n]))
		i += n
	}
	out = s.AppendFlush(out)
	return string(out), s.Findings()
}

// realSources are ordinary text with no PHI in it: this machine's logs and
// the output of everyday commands.
var realSources = []struct{ part, name, cmd string }{
	{"tuning", "dpkg.log", "cat /var/log/dpkg.log"},
	{"tuning", "ps", "ps -e -o pid,user,stat,vsz,rss,time,comm"}, // no arguments: other tests print values
	{"tuning", "ls -la /usr/bin", "ls -la --time-style=full-iso /usr/bin"},
	{"tuning", "git log --stat", "git log --stat -n 300"},
	{"tuning", "ls -laR /usr/include", "ls -laR /usr/include | head -8000"},
	{"tuning", "find /usr/share/doc", "find /usr/share/doc -type f | head -6000"},
	{"tuning", "/proc (cpu, mem, mounts)", "cat /proc/cpuinfo /proc/meminfo /proc/self/mountinfo"},
	{"tuning", "apt, alternatives logs", "cat /var/log/apt/history.log /var/log/alternatives.log"},
	{"tuning", "stat /usr/lib", "stat /usr/lib/x86_64-linux-gnu/* 2>/dev/null | head -6000"},
	{"held out", "C headers", "cat /usr/include/linux/*.h 2>/dev/null | head -20000"},
	{"held out", "/etc/services, protocols", "cat /etc/services /etc/protocols"},
	{"held out", "od -tu4 /usr/bin/ls", "od -An -tu4 -w16 /usr/bin/ls | head -6000"},
	{"held out", "ls -lR zoneinfo", "ls -lR --time-style=full-iso /usr/share/zoneinfo | head -6000"},
	{"held out", "fontconfig, postgres logs", "cat /var/log/fontconfig.log /var/log/postgresql/* 2>/dev/null"},
}

func runSource(cmd string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "sh", "-c", cmd).Output()
	return string(out)
}
