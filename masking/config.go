package masking

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"time"
)

// Config is the masking section of the policy. The zero value enables the
// default recognizers with same-length masking.
type Config struct {
	// Recognizers configures the built-in recognizers by name: ssn, itin,
	// credit_card, email, phone, dob, mrn, npi, mbi, ipv4, ipv6. A recognizer
	// not listed keeps its defaults (all on except ipv4 and ipv6).
	Recognizers map[string]RecognizerConfig `yaml:"recognizers"`
	// Custom adds site-specific patterns.
	Custom []CustomPattern `yaml:"custom"`
	// Style is "same-length" (default when empty): every letter and digit
	// of a value becomes '*', other bytes (separators, '@', '.') stay, and
	// the output has exactly the length of the input. "label" replaces a
	// value by its recognizer's label, such as [SSN].
	Style string `yaml:"style"`
	// MaxHold is the most bytes a stream holds back waiting for a value to
	// complete; zero means DefaultMaxHold. A value that is not decided
	// within MaxHold bytes of its start is not masked.
	MaxHold int `yaml:"max_hold"`
	// IdleFlush is how long the caller waits for more output before calling
	// Stream.Flush; zero means DefaultIdleFlush.
	IdleFlush time.Duration `yaml:"idle_flush"`
	// HoldDeadline is the longest a held tail that may still become a value
	// waits for the text that decides it; at the deadline it is released
	// masked (see Paced). Zero means DefaultHoldDeadline.
	HoldDeadline time.Duration `yaml:"hold_deadline"`
}

// RecognizerConfig adjusts one built-in recognizer. Zero fields keep the
// defaults.
type RecognizerConfig struct {
	// Enabled switches the recognizer on or off; nil keeps the default.
	Enabled *bool `yaml:"enabled"`
	// Context replaces the recognizer's context words (ssn, phone, dob,
	// mrn and npi only), matched case-insensitively at word starts.
	Context []string `yaml:"context"`
	// RequireContext, for mrn and npi, says whether a value counts only
	// within ContextDistance after a context word; nil keeps the default
	// (true for both). Dates of birth always require context.
	RequireContext *bool `yaml:"require_context"`
	// Pattern replaces the medical record number pattern (mrn only), a Go
	// regular expression (RE2 syntax) matched within a token.
	Pattern string `yaml:"pattern"`
	// Label replaces the label used by the "label" style.
	Label string `yaml:"label"`
}

// CustomPattern is a site-specific recognizer.
type CustomPattern struct {
	// Name identifies the recognizer in findings: lower case letters,
	// digits and '_', starting with a letter, distinct from built-in names.
	Name string `yaml:"name"`
	// Pattern is a Go regular expression (RE2 syntax) matched within a
	// token; it must not match the empty string.
	Pattern string `yaml:"pattern"`
	// Context, if not empty, restricts matches to within ContextDistance
	// after one of these words.
	Context []string `yaml:"context"`
	// Label is the label for the "label" style; empty means the upper-case
	// name in brackets.
	Label string `yaml:"label"`
}

// Masking styles.
const (
	StyleSameLength = "same-length"
	StyleLabel      = "label"
)

// Defaults for zero Config fields.
const (
	DefaultMaxHold   = 256
	DefaultIdleFlush = 5 * time.Millisecond
	// DefaultHoldDeadline is longer than the pauses of programs that print
	// in bursts (progress meters update about once a second or faster), so
	// ordinary output is seldom released masked.
	DefaultHoldDeadline = time.Second
)

// Bounds for MaxHold: the lower bound leaves room for the longest built-in
// values with some escape sequences inside.
const (
	minMaxHold = 64
	maxMaxHold = 1 << 20
)

// DefaultMRNPattern is the default medical record number pattern: up to
// three letters followed by 6-10 digits, after a context word.
const DefaultMRNPattern = `\b[A-Za-z]{0,3}\d{6,10}\b`

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("invalid masking configuration")

// ErrFingerprintKey reports a missing or short fingerprint key.
var ErrFingerprintKey = errors.New("masking: fingerprint key must be at least 16 bytes")

// minKeyLen is the shortest accepted fingerprint key. Masked values such as
// SSNs have so few possibilities that a weak key would let anyone holding
// the findings recover them by trying every value.
const minKeyLen = 16

// ConfigError reports an invalid field of Config.
type ConfigError struct {
	Field string // for example "recognizers.mrn.pattern" or "custom[2].name"
	Msg   string
}

func (e *ConfigError) Error() string { return "masking: " + e.Field + ": " + e.Msg }

// Unwrap lets errors.Is match ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func cfgErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Built-in recognizers, in the order they are listed in findings' names.
const (
	recSSN = iota
	recITIN
	recCard
	recEmail
	recPhone
	recDOB
	recMRN
	recNPI
	recMBI
	recIPv4
	recIPv6
	numBuiltin
)

type builtin struct {
	name    string
	label   string
	on      bool
	context []string // default context words; nil if the recognizer takes none
	require bool     // context required by default
	fixed   bool     // require cannot be changed
	norm    normKind
}

var builtins = [numBuiltin]builtin{
	// SSN and phone context words admit the undashed forms (123456789,
	// 4155552671) after them; the dashed forms need none.
	recSSN: {name: "ssn", label: "[SSN]", on: true, norm: normDigits,
		context: []string{"ssn", "ssns", "social", "ss#", "soc sec", "socsec", "itin", "taxpayer", "tin"}},
	recITIN:  {name: "itin", label: "[ITIN]", on: true, norm: normDigits},
	recCard:  {name: "credit_card", label: "[CARD]", on: true, norm: normDigits},
	recEmail: {name: "email", label: "[EMAIL]", on: true, norm: normLower},
	recPhone: {name: "phone", label: "[PHONE]", on: true, norm: normPhone,
		context: []string{"phone", "phones", "tel", "telephone", "mobile", "cell", "fax", "ph", "contact"}},
	recDOB: {name: "dob", label: "[DOB]", on: true, require: true, fixed: true, norm: normAlnumLower,
		context: []string{"dob", "d.o.b", "birth", "birthdate", "birthday", "born", "dateofbirth"}},
	recMRN: {name: "mrn", label: "[MRN]", on: true, require: true, norm: normAlnumUpper,
		context: []string{"mrn", "mr#", "medical record", "med rec", "patient id", "chart"}},
	recNPI:  {name: "npi", label: "[NPI]", on: true, require: true, norm: normDigits, context: []string{"npi"}},
	recMBI:  {name: "mbi", label: "[MBI]", on: true, norm: normAlnumUpper},
	recIPv4: {name: "ipv4", label: "[IP]", norm: normLower},
	recIPv6: {name: "ipv6", label: "[IP]", norm: normLower},
}

// recognizer is a compiled recognizer.
type recognizer struct {
	name    string
	label   []byte
	ctx     []string // lower-case context words
	require bool     // a context word must precede a match
	norm    normKind
	re      *regexp.Regexp // mrn and custom patterns
	first   [256]bool      // bytes that can start a match of re
	minLen  int            // no match of re is shorter
	need    [256]bool      // every match of re holds one of these bytes
	needs   bool           // need is known
}

// compile validates cfg and fills the recognizers and settings of m.
func (m *Masker) compile(cfg Config) error {
	switch cfg.Style {
	case "", StyleSameLength:
	case StyleLabel:
		m.label = true
	default:
		return cfgErr("style", "must be %q or %q, not %q", StyleSameLength, StyleLabel, cfg.Style)
	}
	m.maxHold = cfg.MaxHold
	if m.maxHold == 0 {
		m.maxHold = DefaultMaxHold
	}
	if m.maxHold < minMaxHold || m.maxHold > maxMaxHold {
		return cfgErr("max_hold", "must be between %d and %d bytes, not %d", minMaxHold, maxMaxHold, cfg.MaxHold)
	}
	m.idle = cfg.IdleFlush
	if m.idle == 0 {
		m.idle = DefaultIdleFlush
	}
	if m.idle < 0 {
		return cfgErr("idle_flush", "must not be negative")
	}
	m.deadline = cfg.HoldDeadline
	if m.deadline == 0 {
		m.deadline = DefaultHoldDeadline
	}
	if m.deadline < m.idle {
		return cfgErr("hold_deadline", "must be at least idle_flush (%s), not %s", m.idle, cfg.HoldDeadline)
	}
	names := make([]string, 0, len(cfg.Recognizers))
	for name := range cfg.Recognizers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if builtinIndex(name) < 0 {
			return cfgErr("recognizers."+name, "unknown recognizer (known: %s)", strings.Join(builtinNames(), ", "))
		}
	}
	m.recs = make([]recognizer, numBuiltin, numBuiltin+len(cfg.Custom))
	for i, b := range builtins {
		rc := cfg.Recognizers[b.name]
		field := "recognizers." + b.name
		r := recognizer{name: b.name, label: []byte(b.label), norm: b.norm, require: b.require}
		m.on[i] = b.on
		if rc.Enabled != nil {
			m.on[i] = *rc.Enabled
		}
		if rc.Label != "" {
			if err := checkLabel(rc.Label); err != nil {
				return cfgErr(field+".label", "%v", err)
			}
			r.label = []byte(rc.Label)
		}
		if b.context == nil && (rc.Context != nil || rc.RequireContext != nil) {
			return cfgErr(field, "takes no context words")
		}
		if rc.RequireContext != nil {
			if b.fixed && !*rc.RequireContext {
				return cfgErr(field+".require_context", "cannot be false: a date is a date of birth only after a context word")
			}
			r.require = *rc.RequireContext
		}
		words := b.context
		if rc.Context != nil {
			words = rc.Context
		}
		var err error
		if r.ctx, err = contextWords(field+".context", words); err != nil {
			return err
		}
		if r.require && len(r.ctx) == 0 {
			return cfgErr(field+".context", "must not be empty when context is required")
		}
		if rc.Pattern != "" && i != recMRN {
			return cfgErr(field+".pattern", "only mrn takes a pattern")
		}
		if i == recMRN {
			p := rc.Pattern
			if p == "" {
				p = DefaultMRNPattern
			}
			if err := r.compilePattern(field+".pattern", p); err != nil {
				return err
			}
		}
		m.recs[i] = r
	}
	seen := map[string]bool{}
	for i, c := range cfg.Custom {
		field := fmt.Sprintf("custom[%d]", i)
		if !validName(c.Name) {
			return cfgErr(field+".name", "%q must be 1-32 lower-case letters, digits or '_', starting with a letter", c.Name)
		}
		if builtinIndex(c.Name) >= 0 || seen[c.Name] {
			return cfgErr(field+".name", "%q is already used", c.Name)
		}
		seen[c.Name] = true
		r := recognizer{name: c.Name, label: []byte("[" + strings.ToUpper(c.Name) + "]"), norm: normRaw}
		if c.Label != "" {
			if err := checkLabel(c.Label); err != nil {
				return cfgErr(field+".label", "%v", err)
			}
			r.label = []byte(c.Label)
		}
		if c.Pattern == "" {
			return cfgErr(field+".pattern", "missing")
		}
		if err := r.compilePattern(field+".pattern", c.Pattern); err != nil {
			return err
		}
		var err error
		if r.ctx, err = contextWords(field+".context", c.Context); err != nil {
			return err
		}
		r.require = len(r.ctx) > 0
		m.recs = append(m.recs, r)
	}
	return nil
}

func (r *recognizer) compilePattern(field, p string) error {
	re, err := regexp.Compile(p)
	if err != nil {
		return cfgErr(field, "%v", err)
	}
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return cfgErr(field, "%v", err)
	}
	first, nullable := firstSet(tree)
	if nullable {
		return cfgErr(field, "%q can match the empty string", p)
	}
	starts := false
	for c := range first {
		if isDelim(byte(c)) {
			first[c] = false
		}
		starts = starts || first[c]
	}
	if !starts {
		return cfgErr(field, "%q can only start with a delimiter (white space or |,;\"'<>()[]{}`), so it never matches within a token", p)
	}
	r.re, r.first, r.minLen = re, first, minLen(tree)
	r.need, r.needs = neededSet(tree)
	return nil
}

func contextWords(field string, words []string) ([]string, error) {
	out := make([]string, 0, len(words))
	for i, w := range words {
		lw := strings.ToLower(w)
		if lw == "" || len(lw) > maxContextWord || !isAlpha(lw[0]) {
			return nil, cfgErr(fmt.Sprintf("%s[%d]", field, i), "%q must be 1-%d bytes starting with a letter", w, maxContextWord)
		}
		for j := 0; j < len(lw); j++ {
			if lw[j] < ' ' || lw[j] > '~' {
				return nil, cfgErr(fmt.Sprintf("%s[%d]", field, i), "%q must be printable ASCII", w)
			}
		}
		out = append(out, lw)
	}
	return out, nil
}

// checkLabel rejects labels that could disturb the terminal.
func checkLabel(l string) error {
	if len(l) > 32 {
		return errors.New("longer than 32 bytes")
	}
	for i := 0; i < len(l); i++ {
		if l[i] < ' ' || l[i] > '~' {
			return fmt.Errorf("%q must be printable ASCII", l)
		}
	}
	return nil
}

func validName(n string) bool {
	if n == "" || len(n) > 32 || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

func builtinIndex(name string) int {
	for i, b := range builtins {
		if b.name == name {
			return i
		}
	}
	return -1
}

func builtinNames() []string {
	n := make([]string, len(builtins))
	for i, b := range builtins {
		n[i] = b.name
	}
	return n
}
