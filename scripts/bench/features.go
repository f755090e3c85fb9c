package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
)

// probeText goes through the bastion once to see whether output masking
// is on: an e-mail address is one of the masker's default recognizers.
const probeText = "bench.probe@example.com"

var kexRE = regexp.MustCompile(`kex: algorithm: (\S+)`)

// probeFeatures finds out what the bastion does to a session (masking) and
// what each path negotiates, so the report says what was measured.
func (b *bench) probeFeatures(ctx context.Context) error {
	var out bytes.Buffer
	cmd := command(ctx, "ssh", b.e.sshArgs(viaBastion, ciphers[0], nil, "echo "+probeText)...)
	cmd.Stdout = &out
	if err := b.e.procs.run(cmd); err != nil {
		return fmt.Errorf("masking probe: %w", err)
	}
	got := strings.TrimSpace(out.String())
	if got == probeText {
		b.features = append(b.features, fmt.Sprintf("masking: off (the probe %q came back unchanged)", probeText))
	} else {
		b.features = append(b.features, fmt.Sprintf("masking: on (the probe %q came back as %q; the bench policy configures no masking, so these are the defaults)", probeText, got))
	}
	kex := map[side]string{}
	for _, s := range sides {
		var stderr bytes.Buffer
		cmd := command(ctx, "ssh", b.e.sshArgs(s, ciphers[0], []string{"-v"}, "true")...)
		cmd.Stderr = &stderr
		if err := b.e.procs.run(cmd); err != nil {
			return fmt.Errorf("key exchange probe: %w", err)
		}
		if m := kexRE.FindStringSubmatch(stderr.String()); m != nil {
			kex[s] = m[1]
		}
	}
	b.features = append(b.features, fmt.Sprintf("key exchange (client defaults): direct %s; client to bastion %s", kex[direct], kex[viaBastion]))
	return nil
}
