package recorder

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// auditCheckpointType is the type of a log record holding the head of the
// store's audit chain.
const auditCheckpointType = "bastion.audit.checkpoint.v1"

// Kinds of log record.
const (
	RecordSession         = logRecordType       // a closed session ([LogRecord])
	RecordAuditCheckpoint = auditCheckpointType // the audit chain's head ([AuditCheckpointRecord])
)

// AuditCheckpointRecord returns the log record that vouches for the audit
// chain up to event seq, whose chain hash is hash, in a chain that began at
// event start. Entered in the log, it is signed by the next tree head and
// anchored by the witness, so the audit trail cannot be rolled back or
// rebuilt past it without the log noticing.
func AuditCheckpointRecord(seq int64, hash string, start int64, at time.Time) []byte {
	return canonical([]member{
		str("type", auditCheckpointType), num("seq", seq), str("hash", hash),
		num("start", start), str("time", formatTime(at)),
	})
}

// LogEntry is one record of a session log, parsed.
type LogEntry struct {
	Index int64  `json:"index"`
	Type  string `json:"type"`
	// Session records.
	SessionID      string `json:"session_id,omitempty"`
	File           string `json:"file,omitempty"`
	Events         int64  `json:"events,omitempty"`
	Chain          string `json:"chain,omitempty"`
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// Audit checkpoints.
	Seq   int64  `json:"seq,omitempty"`
	Hash  string `json:"hash,omitempty"`
	Start int64  `json:"start,omitempty"`
	Time  string `json:"time,omitempty"`
	// Raw is the record as stored, for inclusion proofs.
	Raw []byte `json:"-"`
}

// ReadLog verifies the log in dir against its signed head (as [VerifyLog])
// and returns its records in order.
func ReadLog(dir string, pub ed25519.PublicKey) ([]LogEntry, error) {
	tree, err := VerifyLog(dir, pub)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, logRecordsFile))
	if err != nil && tree.N > 0 {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	out := make([]LogEntry, 0, tree.N)
	for i := int64(0); i < tree.N; i++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		var e LogEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%w: log record %d: %v", ErrMalformed, i, err)
		}
		e.Index, e.Raw = i, bytes.Clone(line)
		out = append(out, e)
	}
	return out, nil
}

// ReadHead returns the signed tree head stored in the log directory dir.
func ReadHead(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, logHeadFile))
	if err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	return b, nil
}
