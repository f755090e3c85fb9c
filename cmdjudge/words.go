package cmdjudge

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// maxBraceFields bounds brace expansion of one word: more than this and the
// command is reviewed rather than expanded.
const maxBraceFields = 256

// arg is one word of a simple command after quote removal. When static is
// false the word is computed at run time (a variable, a substitution, a
// glob) and text holds its source, which is all the judge can see.
type arg struct {
	text   string
	static bool
	why    string // for a non-static word: what made it so
}

// expandWords turns a command's words into arguments, doing what the shell
// would do statically: brace expansion and quote removal. It reports false
// when brace expansion would produce more than maxBraceFields words.
func expandWords(src string, words []*syntax.Word) ([]arg, bool) {
	var out []arg
	for _, w := range words {
		cp := &syntax.Word{Parts: append([]syntax.WordPart(nil), w.Parts...)}
		if !syntax.SplitBraces(cp) {
			out = append(out, wordArg(src, w))
			continue
		}
		n := 0
		for bw, err := range expand.BracesSeq(nil, cp) {
			if err != nil || n >= maxBraceFields {
				return nil, false
			}
			n++
			out = append(out, wordArg(src, bw))
		}
	}
	return out, true
}

// wordArg removes quotes from a word. Anything the shell would expand at
// run time makes the word non-static.
func wordArg(src string, w *syntax.Word) arg {
	var b strings.Builder
	why := partsText(&b, w.Parts, false)
	if why != "" {
		return arg{text: nodeText(src, w), why: why}
	}
	return arg{text: b.String(), static: true}
}

// partsText writes the quote-removed value of parts to b and returns ""
// or, when a part is expanded at run time, what it is.
func partsText(b *strings.Builder, parts []syntax.WordPart, inDouble bool) string {
	for i, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if !inDouble {
				// A "[" is a glob only with a "]" after it: "[" alone, the
				// test command, is a plain word to bash.
				if k := strings.IndexByte(p.Value, '['); strings.ContainsAny(p.Value, "*?") ||
					(k >= 0 && (strings.Contains(p.Value[k:], "]") || i < len(parts)-1)) {
					return "a glob"
				}
				if i == 0 && strings.HasPrefix(p.Value, "~") {
					return "a tilde expansion"
				}
				b.WriteString(unescapeUnquoted(p.Value))
			} else {
				b.WriteString(unescapeDouble(p.Value))
			}
		case *syntax.SglQuoted:
			if p.Dollar {
				b.WriteString(ansiC(p.Value))
			} else {
				b.WriteString(p.Value)
			}
		case *syntax.DblQuoted:
			if why := partsText(b, p.Parts, true); why != "" {
				return why
			}
		case *syntax.ParamExp:
			return "a variable"
		case *syntax.CmdSubst:
			return "a command substitution"
		case *syntax.ArithmExp:
			return "an arithmetic expansion"
		case *syntax.ProcSubst:
			return "a process substitution"
		case *syntax.ExtGlob:
			return "a glob"
		case *syntax.BraceExp:
			return "a brace expansion"
		default:
			return "an expansion"
		}
	}
	return ""
}

// unescapeUnquoted applies backslash removal outside quotes: "\x" is "x",
// and a backslash-newline disappears.
func unescapeUnquoted(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == '\n' {
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapeDouble applies backslash removal inside double quotes, where only
// $ ` " \ and newline are escaped.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '$', '`', '"', '\\':
				i++
			case '\n':
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ansiC decodes the body of a $'...' string the way bash does.
func ansiC(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'c':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i] & 0x1f)
			}
		case 'x', 'u', 'U':
			max := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			j := i + 1
			for j < len(s) && j-i-1 < max && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
			if e == 'x' {
				b.WriteByte(byte(n))
			} else if utf8.ValidRune(rune(n)) {
				b.WriteRune(rune(n))
			}
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j-i < 3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(s[i:j], 8, 16)
			b.WriteByte(byte(n))
			i = j - 1
		case '\\', '\'', '"', '?':
			b.WriteByte(e)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// nodeText is the source of n within src, as the user wrote it.
func nodeText(src string, n syntax.Node) string {
	start, end := int(n.Pos().Offset()), int(n.End().Offset())
	if start < 0 || end > len(src) || start > end {
		return ""
	}
	return src[start:end]
}
