package shellhook

import (
	"bytes"
	"errors"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// MaxRequest bounds one request in bytes (the quoted command included). A
// longer one is not read: the bastion answers it with a skip.
const MaxRequest = 64 << 10

// Request is one message from the hook.
type Request struct {
	Hello bool // the hook is installed
	Ready bool // the login files ran
	// Done follows each verdict; Typed holds the keystrokes the hook
	// read ahead of it, to be typed again.
	Done      bool
	Typed     string
	Challenge string // what the verdict must carry
	Command   string // BASH_COMMAND, unquoted; empty if Err is set
	// Err says why the command could not be read (too long, badly
	// quoted); the bastion skips it.
	Err error
}

// Errors a Request can carry.
var (
	ErrTooLong = errors.New("shellhook: command longer than the guard reads")
	ErrQuoting = errors.New("shellhook: command not quoted as bash quotes it")
)

// Scanner takes the hook's requests out of a terminal output stream. Bytes
// that might begin a request are kept until it is clear whether they do,
// so a request split over reads is still found; everything else passes
// through unchanged and in order. A sequence with another nonce is output
// like any other (a terminal ignores it); it is never a request.
type Scanner struct {
	nonce string
	pend  []byte // a possible request's start, not yet complete
	skip  *Request
}

// NewScanner returns a Scanner for the session's nonce.
func NewScanner(nonce string) *Scanner { return &Scanner{nonce: nonce} }

var challengeRE = regexp.MustCompile(`^[0-9]{1,40}$`)

// Feed returns p without the requests in it, and the requests in order.
func (s *Scanner) Feed(p []byte) (out []byte, reqs []Request) {
	data := p
	if len(s.pend) > 0 {
		data = append(s.pend, p...)
		s.pend = nil
	}
	for len(data) > 0 {
		if s.skip != nil {
			// Past MaxRequest: discard to the terminator, then answer.
			i := bytes.IndexByte(data, '\a')
			if i < 0 {
				return out, reqs
			}
			reqs = append(reqs, *s.skip)
			s.skip, data = nil, data[i+1:]
			continue
		}
		i := bytes.IndexByte(data, 0x1b)
		if i < 0 {
			return append(out, data...), reqs
		}
		out, data = append(out, data[:i]...), data[i:]
		head := Marker + s.nonce + ";"
		n := min(len(data), len(head))
		if string(data[:n]) != head[:n] {
			out, data = append(out, data[0]), data[1:]
			continue
		}
		end := bytes.IndexByte(data, '\a')
		if end < 0 {
			if len(data) > MaxRequest {
				r := s.header(data[len(head):])
				r.Err = ErrTooLong
				s.skip = &r
				data = nil
				continue
			}
			s.pend = append([]byte(nil), data...)
			return out, reqs
		}
		if end > MaxRequest {
			r := s.header(data[len(head):end])
			r.Err = ErrTooLong
			reqs, data = append(reqs, r), data[end+1:]
			continue
		}
		if end < len(head) {
			// A terminator inside what looked like our marker: not ours.
			out, data = append(out, data[:end+1]...), data[end+1:]
			continue
		}
		reqs = append(reqs, parseBody(string(data[len(head):end])))
		data = data[end+1:]
	}
	return out, reqs
}

// Pending reports whether bytes are held back waiting for more input.
func (s *Scanner) Pending() bool { return len(s.pend) > 0 || s.skip != nil }

// header reads what it can of a request cut short: its challenge.
func (s *Scanner) header(body []byte) Request {
	r := parseBody(string(body))
	r.Command = ""
	return r
}

// parseBody reads "hello" or "cmd;CHALLENGE;QUOTED".
func parseBody(body string) Request {
	switch body {
	case "hello":
		return Request{Hello: true}
	case "ready":
		return Request{Ready: true}
	}
	if q, ok := strings.CutPrefix(body, "typed;"); ok {
		t, err := Unquote(q)
		return Request{Done: true, Typed: t, Err: err}
	}
	rest, ok := strings.CutPrefix(body, "cmd;")
	if !ok {
		return Request{Err: ErrQuoting}
	}
	chal, quoted, _ := strings.Cut(rest, ";")
	if !challengeRE.MatchString(chal) {
		return Request{Err: ErrQuoting}
	}
	cmd, err := Unquote(quoted)
	return Request{Challenge: chal, Command: cmd, Err: err}
}

// Unquote reads one word as bash's ${var@Q} writes it: single-quoted
// pieces, $'...' pieces and backslash-escaped quotes, nothing that would
// expand. It is parsed with the same shell parser the judge uses.
func Unquote(q string) (string, error) {
	if q == "" {
		return "", ErrQuoting
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader("x "+q), "")
	if err != nil || len(f.Stmts) != 1 {
		return "", ErrQuoting
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) != 2 || len(call.Assigns) != 0 || len(f.Stmts[0].Redirs) != 0 {
		return "", ErrQuoting
	}
	for _, part := range call.Args[1].Parts {
		switch part.(type) {
		case *syntax.SglQuoted, *syntax.Lit:
		default:
			return "", ErrQuoting
		}
	}
	s, ok := plainWord(call.Args[1])
	if !ok {
		return "", ErrQuoting
	}
	return s, nil
}

// plainWord returns a word's value after quote removal, if nothing in it
// expands (no parameters, substitutions, globs or braces).
func plainWord(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch part := part.(type) {
		case *syntax.Lit:
			if strings.ContainsAny(part.Value, "*?[{~") {
				return "", false
			}
			b.WriteString(unescape(part.Value, func(byte) bool { return true }))
		case *syntax.SglQuoted:
			if !part.Dollar {
				b.WriteString(part.Value)
				continue
			}
			v, err := expand.Literal(nil, &syntax.Word{Parts: []syntax.WordPart{part}})
			if err != nil {
				return "", false
			}
			b.WriteString(v)
		case *syntax.DblQuoted:
			for _, in := range part.Parts {
				l, ok := in.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescape(l.Value, func(c byte) bool { return strings.IndexByte("$`\"\\", c) >= 0 }))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescape removes the backslash before each character escapes accepts,
// and a backslash-newline pair (a line continuation).
func unescape(s string, escapes func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if s[i+1] == '\n' {
				i++
				continue
			}
			if escapes(s[i+1]) {
				i++
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
