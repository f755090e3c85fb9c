package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// logEntry is the part of a session log record this command compares.
type logEntry struct {
	SessionID string `json:"session_id"`
	File      string `json:"file"`
	Chain     string `json:"chain"`
}

// verifyAll checks the signed session log, then every session in the store
// against it and against its own manifest. A recording that is missing,
// altered, or absent from the log is reported; any problem fails the
// command.
func verifyAll(ctx context.Context, stdout io.Writer, dataDir string, pub ed25519.PublicKey) error {
	tree, err := recorder.VerifyLog(logDir(dataDir), pub)
	if err != nil {
		return fmt.Errorf("session log: %w", err)
	}
	entries, err := readLogEntries(filepath.Join(logDir(dataDir), "records"))
	if err != nil {
		return err
	}
	st, err := store.Open(dbPath(dataDir))
	if err != nil {
		return err
	}
	defer st.Close()
	sessions, err := st.ListSessions(ctx, store.SessionFilter{Limit: 1 << 30})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "session log: %d records, signed tree head verified\n", tree.N)
	problems := 0
	report := func(format string, args ...any) {
		problems++
		fmt.Fprintf(stdout, "PROBLEM: "+format+"\n", args...)
	}
	inStore := map[string]bool{}
	for _, s := range sessions {
		inStore[s.ID] = true
		if s.EndedAt == nil || s.Recording == "" {
			continue // still running, or refused before recording
		}
		res, err := recorder.Verify(s.Recording, pub)
		switch {
		case errors.Is(err, os.ErrNotExist):
			report("session %s: recording %s is missing", s.ID, s.Recording)
			continue
		case err != nil:
			report("session %s: %v", s.ID, err)
			continue
		}
		e, ok := entries[s.ID]
		if !ok {
			report("session %s: not in the session log", s.ID)
		} else if e.Chain != res.Chain {
			report("session %s: chain %s differs from the logged %s", s.ID, res.Chain, e.Chain)
		}
	}
	for id := range entries {
		if !inStore[id] {
			report("session %s is in the log but not in the database (deleted?)", id)
		}
	}
	if problems > 0 {
		return fmt.Errorf("verify: %d problems", problems)
	}
	fmt.Fprintf(stdout, "all %d recorded sessions verified against their manifests and the log\n", len(entries))
	return nil
}

func readLogEntries(path string) (map[string]logEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]logEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]logEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var e logEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("session log record: %w", err)
		}
		out[e.SessionID] = e
	}
	return out, sc.Err()
}
