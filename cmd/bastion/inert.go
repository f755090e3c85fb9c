package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// inert renders recorded text (commands, user names, paths, reasons) safe
// to print on a terminal: control characters (C0, DEL, C1: escape
// sequences that could clear the screen, retitle the window or hide
// text), bidirectional overrides (that reorder what the reader sees,
// CVE-2021-42574) and invalid UTF-8 are shown as escapes, and backslashes
// doubled so an escape cannot be faked. Commands print recorded data
// through it unless --raw is given.
func inert(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) || r == '\\' {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x100 && needsEscape(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// display is inert unless raw output was asked for.
type display bool

// s renders one recorded string for printing.
func (raw display) s(v string) string {
	if raw {
		return v
	}
	return inert(v)
}
