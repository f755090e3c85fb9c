package config

import (
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// DefaultAuditCheckpointEvery is how often the head of the audit chain is
// entered in the session log when evidence.audit_checkpoint_every is zero.
const DefaultAuditCheckpointEvery = time.Minute

// Evidence says where the proof that nothing was removed is anchored.
type Evidence struct {
	// WitnessFile receives every signed tree head of the session log. It
	// must lie outside data_dir (another volume, a mount the bastion can
	// only append to, a synced folder): a data directory restored from an
	// older copy is caught against it. Empty: no file witness.
	WitnessFile string `yaml:"witness_file"`
	// WitnessURL receives every signed tree head as an HTTP POST
	// (text/plain). Empty: none.
	WitnessURL string `yaml:"witness_url"`
	// WitnessSyslog also sends every signed tree head to the system log
	// (facility auth), for a central collector to keep.
	WitnessSyslog bool `yaml:"witness_syslog"`
	// AuditCheckpointEvery is how often the audit chain's head is entered
	// in the session log (also at shutdown); zero means one minute.
	// Tampering with events after the newest checkpoint is caught by the
	// chain only, so keep it short.
	AuditCheckpointEvery time.Duration `yaml:"audit_checkpoint_every"`
}

// Retention says how long evidence is kept. The zero value keeps
// everything forever. (HIPAA asks six years for documentation,
// 45 CFR 164.316(b)(2)(i): keep_days 2192 or more.)
type Retention struct {
	// KeepDays deletes recordings of sessions that started more than this
	// many days ago (`bastion retention run`, and daily in serve). Zero:
	// keep forever. The session row, its audit events and its log record
	// stay, so that verify can tell what retention removed.
	KeepDays int `yaml:"keep_days"`
	// Holds are legal holds: a session matching any of them is never
	// deleted, however old.
	Holds []Hold `yaml:"holds"`
}

// Hold is one legal hold; a session matches when every field set matches.
type Hold struct {
	Identity string `yaml:"identity"`
	Target   string `yaml:"target"`
	Session  string `yaml:"session"`
	Reason   string `yaml:"reason"` // e.g. a case number; required
}

// Matches reports whether a session with these fields is held. Session
// matches as an id prefix, as every command that takes a session id does
// (a connection id holds all its sessions): holding too much is safe,
// holding nothing by a short id is not.
func (h Hold) Matches(identity, target, session string) bool {
	return (h.Identity == "" || h.Identity == identity) && (h.Target == "" || h.Target == target) &&
		(h.Session == "" || strings.HasPrefix(session, h.Session))
}

// outsideDir reports whether path lies outside dir.
func outsideDir(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

func (c *Config) validateEvidence() error {
	e := c.Evidence
	if e.WitnessFile != "" && !outsideDir(e.WitnessFile, c.DataDir) {
		return invalid("evidence.witness_file", "%s is inside data_dir; a witness must survive the data directory being replaced", e.WitnessFile)
	}
	if e.WitnessURL != "" {
		u, err := url.Parse(e.WitnessURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid("evidence.witness_url", "want an http(s) URL, got %q", e.WitnessURL)
		}
	}
	if e.AuditCheckpointEvery < 0 {
		return invalid("evidence.audit_checkpoint_every", "must not be negative")
	}
	if c.Retention.KeepDays < 0 {
		return invalid("retention.keep_days", "must not be negative (0 keeps forever)")
	}
	for i, h := range c.Retention.Holds {
		if h.Identity == "" && h.Target == "" && h.Session == "" {
			return invalid("retention.holds", "hold %d names no identity, target or session", i)
		}
		if h.Reason == "" {
			return invalid("retention.holds", "hold %d has no reason", i)
		}
	}
	return nil
}

// CheckpointEvery returns the audit checkpoint interval, defaults applied.
func (e Evidence) CheckpointEvery() time.Duration {
	if e.AuditCheckpointEvery == 0 {
		return DefaultAuditCheckpointEvery
	}
	return e.AuditCheckpointEvery
}
