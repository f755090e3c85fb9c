package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A misspelt key is named with its file, line and the field meant.
func TestLoadErrorNamesFileLineAndField(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:2222\nlimits:\n  dial_timout: 3s\n  handshake_timeout: soon\n"), 0o600)
	_, err := Load(file)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{file, `line 3: unknown field "dial_timout" (did you mean "dial_timeout"?)`,
		`line 4: handshake_timeout: want a duration such as 15m or 20s, got "soon"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "config.Limits") || strings.Contains(err.Error(), "time.Duration") {
		t.Errorf("Go type names in %q", err)
	}
}

// A value that decodes but does not validate is named with its line too;
// a missing field has none to show.
func TestValidationErrorNamesLine(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(valid, "address: 10.0.0.1:22", "address: 10.0.0.1", 1)), "/etc/bastion")
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || fe.Field != "targets[0].address" || fe.Line != 10 {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "line 10: targets[0].address: want host:port") {
		t.Errorf("message: %v", err)
	}
	_, err = Parse([]byte(strings.Replace(valid, "signing_key: signing_key\n", "", 1)), "/etc/bastion")
	if !errors.As(err, &fe) || fe.Line != 0 || strings.Contains(err.Error(), "line") {
		t.Errorf("missing field: %v", err)
	}
}
