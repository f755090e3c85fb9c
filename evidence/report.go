package evidence

import (
	"time"

	"github.com/bastion-ssh/bastion/recorder"
)

// Filter chooses what a bundle holds; zero fields match everything.
type Filter struct {
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Identity string    `json:"identity,omitempty"`
	Target   string    `json:"target,omitempty"`
	Session  string    `json:"session,omitempty"`
}

// Report is report.json: what the bundle holds and what was verified when
// it was made. index.html shows the same.
type Report struct {
	Created        string          `json:"created"`
	Filter         Filter          `json:"filter"`
	KeyFingerprint string          `json:"key_fingerprint"` // SHA256:... of keys/signing_key.pub
	Log            LogSummary      `json:"log"`
	Sessions       []SessionRecord `json:"sessions"`
	Audit          AuditSummary    `json:"audit"`
	Problems       []string        `json:"problems"` // found at export; the bundle still says what it holds
}

// LogSummary describes the signed tree head in log/head.
type LogSummary struct {
	Records int64  `json:"records"`
	Root    string `json:"root"`
}

// AuditSummary describes audit/events.jsonl.
type AuditSummary struct {
	Events     int    `json:"events"`     // exported in full
	First      int64  `json:"first_seq"`  // first line of the chain segment
	Last       int64  `json:"last_seq"`   // last line of the chain segment
	Checkpoint int64  `json:"checkpoint"` // sequence number of the signed checkpoint the segment reaches, 0 if none
	Unanchored int64  `json:"unanchored"` // exported events after that checkpoint
	Note       string `json:"note,omitempty"`
}

// SessionRecord is sessions/ID/session.json, and one row of report.json.
type SessionRecord struct {
	ID          string                `json:"id"`
	Identity    string                `json:"identity"`
	Groups      []string              `json:"groups,omitempty"`
	Certificate map[string]any        `json:"certificate,omitempty"` // serial, key id, fingerprint, issuer as audited at login
	SourceAddr  string                `json:"source_addr"`
	Target      string                `json:"target"`
	Login       string                `json:"login"`
	Kind        string                `json:"kind"`
	Command     string                `json:"command,omitempty"`
	StartedAt   time.Time             `json:"started_at"`
	EndedAt     *time.Time            `json:"ended_at,omitempty"`
	ExitStatus  *int                  `json:"exit_status,omitempty"`
	ExitSignal  string                `json:"exit_signal,omitempty"`
	EndReason   string                `json:"end_reason,omitempty"`
	DeletedAt   *time.Time            `json:"deleted_at,omitempty"`
	Files       []string              `json:"files,omitempty"` // members: the cast, its manifest and checkpoints
	Player      string                `json:"player,omitempty"`
	Decisions   []map[string]any      `json:"decisions,omitempty"` // command decisions and approvals, as audited
	Approvals   []map[string]any      `json:"approvals,omitempty"` // the approvals table, where the store has one
	Masking     []map[string]any      `json:"masking,omitempty"`   // masking records: recognizer, position, fingerprint; never the value
	LogProof    *recorder.RecordProof `json:"log_proof,omitempty"` // the session's record in the signed log
	Verified    string                `json:"verified"`            // the recording's verification at export
	OK          bool                  `json:"ok"`
}
