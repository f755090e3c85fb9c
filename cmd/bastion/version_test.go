package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var b buildInfo
	if err := json.Unmarshal([]byte(runOK(t, "version", "--json")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Version == "" || b.Go != runtime.Version() {
		t.Errorf("version --json = %+v", b)
	}
	text := runOK(t, "--version")
	if !strings.HasPrefix(text, "bastion "+b.Version+"\n") || !strings.Contains(text, runtime.Version()) {
		t.Errorf("--version:\n%s", text)
	}
}
