package masking

import (
	"errors"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"style", Config{Style: "fancy"}, "style"},
		{"max-hold-small", Config{MaxHold: 10}, "max_hold"},
		{"max-hold-negative", Config{MaxHold: -1}, "max_hold"},
		{"idle-flush", Config{IdleFlush: -time.Second}, "idle_flush"},
		{"hold-deadline", Config{HoldDeadline: time.Microsecond}, "hold_deadline"},
		{"unknown-recognizer", Config{Recognizers: map[string]RecognizerConfig{"ssnn": {}}}, "recognizers.ssnn"},
		{"context-unsupported", Config{Recognizers: map[string]RecognizerConfig{"email": {Context: []string{"mail"}}}}, "recognizers.email"},
		{"dob-context-required", Config{Recognizers: map[string]RecognizerConfig{"dob": {RequireContext: off()}}}, "recognizers.dob.require_context"},
		{"dob-context-empty", Config{Recognizers: map[string]RecognizerConfig{"dob": {Context: []string{}}}}, "recognizers.dob.context"},
		{"context-word", Config{Recognizers: map[string]RecognizerConfig{"npi": {Context: []string{"npi", "#id"}}}}, "recognizers.npi.context[1]"},
		{"pattern-unsupported", Config{Recognizers: map[string]RecognizerConfig{"ssn": {Pattern: `\d+`}}}, "recognizers.ssn.pattern"},
		{"pattern-syntax", Config{Recognizers: map[string]RecognizerConfig{"mrn": {Pattern: `(\d+`}}}, "recognizers.mrn.pattern"},
		{"pattern-empty-match", Config{Recognizers: map[string]RecognizerConfig{"mrn": {Pattern: `\d*`}}}, "recognizers.mrn.pattern"},
		{"pattern-delimiter", Config{Recognizers: map[string]RecognizerConfig{"mrn": {Pattern: ` \d+`}}}, "recognizers.mrn.pattern"},
		{"label", Config{Recognizers: map[string]RecognizerConfig{"ssn": {Label: "\x1b[2J"}}}, "recognizers.ssn.label"},
		{"custom-name", Config{Custom: []CustomPattern{{Name: "Member", Pattern: "x"}}}, "custom[0].name"},
		{"custom-builtin-name", Config{Custom: []CustomPattern{{Name: "ssn", Pattern: "x"}}}, "custom[0].name"},
		{"custom-duplicate", Config{Custom: []CustomPattern{{Name: "a", Pattern: "x"}, {Name: "a", Pattern: "y"}}}, "custom[1].name"},
		{"custom-no-pattern", Config{Custom: []CustomPattern{{Name: "a"}}}, "custom[0].pattern"},
		{"custom-context", Config{Custom: []CustomPattern{{Name: "a", Pattern: "x", Context: []string{""}}}}, "custom[0].context[0]"},
		{"custom-label", Config{Custom: []CustomPattern{{Name: "a", Pattern: "x", Label: "\n"}}}, "custom[0].label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, testKey)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want a ConfigError for %s", err, tc.field)
			}
		})
	}
	if _, err := New(Config{}, []byte("short")); !errors.Is(err, ErrFingerprintKey) {
		t.Errorf("short key: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	m := newTestMasker(t, Config{})
	if m.IdleFlush() != DefaultIdleFlush || m.MaxHold() != DefaultMaxHold {
		t.Errorf("IdleFlush %v MaxHold %d", m.IdleFlush(), m.MaxHold())
	}
	for i, b := range builtins {
		if m.on[i] != (b.name != "ipv4" && b.name != "ipv6") {
			t.Errorf("%s on = %v", b.name, m.on[i])
		}
	}
}

func TestConfigYAML(t *testing.T) {
	const policy = `
style: label
max_hold: 512
idle_flush: 10ms
recognizers:
  ipv4: {enabled: true}
  email: {enabled: false}
  npi: {require_context: false}
  mrn:
    pattern: 'PT-\d{6}'
    context: [patient]
custom:
  - name: member_id
    pattern: '(?i)\bmem-[a-z0-9]{6}\b'
    label: '[MEMBER]'
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(policy), &cfg); err != nil {
		t.Fatal(err)
	}
	m := newTestMasker(t, cfg)
	if m.IdleFlush() != 10*time.Millisecond || m.MaxHold() != 512 || !m.label {
		t.Errorf("IdleFlush %v MaxHold %d label %v", m.IdleFlush(), m.MaxHold(), m.label)
	}
	got, _ := m.MaskString("10.1.2.3 a@example.com patient PT-123456 mem-ab12cd")
	if want := "[IP] a@example.com patient [MRN] [MEMBER]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
