package masking

import "testing"

// fastPathCases try to slip a value past the scan's shortcuts: the byte
// loop that passes over bytes triggering nothing, the tests that rule out a
// number by its shape or a context word by its second letter before the
// recognizers run, and the tokenizer's shortcut for plain CSI sequences.
// Each value sits where a shortcut decides: next to escape sequences
// (plain and not), after multi-byte UTF-8, cut by the end of a write at
// every byte, at the very end of the stream. want is the same-length
// output with every recognizer at its default.
var fastPathCases = []struct{ in, want string }{
	// Plain CSI around and inside values.
	{"\x1b[1m123-45-6789\x1b[0m", "\x1b[1m***-**-****\x1b[0m"},
	{"123-\x1b[31m45\x1b[0m-6789", "***-\x1b[31m**\x1b[0m-****"},
	{"\x1b[38;5;196m4111\x1b[m 1111\x1b[K 1111 1111", "\x1b[38;5;196m****\x1b[m ****\x1b[K **** ****"},
	{"\x1b[2K\x1b[1G(555) 123-4567\x1b[K\r\n", "\x1b[2K\x1b[1G(***) ***-****\x1b[K\r\n"},
	{"\x1b[4mjane.doe@example.org\x1b[24m", "\x1b[4mj***.***@*******.***\x1b[24m"},
	{"\x1b[0123456789;0123456789m123-45-6789", "\x1b[0123456789;0123456789m***-**-****"},
	// Sequences the shortcut leaves to the parser, right before a value.
	{"\x1b[38:5:1m123-45-6789", "\x1b[38:5:1m***-**-****"},
	{"\x1b[?25h123-45-6789\x1b[?25l", "\x1b[?25h***-**-****\x1b[?25l"},
	{"\x1b[1\x18123-45-6789", "\x1b[1\x18***-**-****"},
	{"\x1b[12;\xc3\xa9m 123-45-6789", "\x1b[12;\xc3\xa9m ***-**-****"},
	// Context words: the second letter in either case, escapes between
	// the word and the value.
	{"DOB: 01/02/1980", "DOB: **/**/****"},
	{"dOb 1980-01-02", "dOb ****-**-**"},
	{"Dob:\x1b[0m \x1b[1m01/02/1980\x1b[0m", "Dob:\x1b[0m \x1b[1m**/**/****\x1b[0m"},
	{"MRN:\x1b[1m00123456\x1b[0m", "MRN:\x1b[1m********\x1b[0m"},
	{"SSN 123456789", "SSN *********"},
	{"npi: 1234567893", "npi: **********"},
	// Multi-byte UTF-8 before a value.
	{"é123-45-6789", "é***-**-****"},
	{"日本語123-45-6789", "日本語***-**-****"},
	{"—4111 1111 1111 1111", "—**** **** **** ****"},
	{"\xe2\x80\x8b123-45-6789", "\xe2\x80\x8b***-**-****"},
	// Values at the end of the stream, with nothing after them.
	{"ssn 123-45-6789", "ssn ***-**-****"},
	{"card 4111111111111111", "card ****************"},
	{"mail jane@example.org", "mail j***@*******.***"},
}

func TestFastPathsMaskEverywhere(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, c := range fastPathCases {
		if got := whole(m, c.in).out; got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	for _, tc := range testConfigs {
		m := newTestMasker(t, tc.cfg)
		for _, c := range fastPathCases {
			sameAtEverySplit(t, tc.name, m, c.in, len(c.in))
		}
	}
}
