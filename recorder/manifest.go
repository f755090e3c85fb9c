package recorder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Statement types, one per kind of signed statement.
const (
	manifestType   = "bastion.recording.manifest.v1"
	checkpointType = "bastion.recording.checkpoint.v1"
	logRecordType  = "bastion.session.v1"
)

// ExitInfo is how the session ended.
type ExitInfo struct {
	Status int    // exit status; by convention -1 when the command died from a signal
	Signal string // signal name without "SIG" ("TERM"), or empty
}

// label is the data of the final marker event: "exit 0" or "exit -1 signal TERM".
func (e ExitInfo) label() string {
	if e.Signal == "" {
		return fmt.Sprintf("exit %d", e.Status)
	}
	return fmt.Sprintf("exit %d signal %s", e.Status, e.Signal)
}

// A Manifest is the signed statement written when a recording is closed.
type Manifest struct {
	SessionID string    // Meta.SessionID of the recording
	File      string    // base name of the cast file
	Events    int64     // event lines after the header, the final marker included
	Bytes     int64     // size of the cast file
	Chain     string    // final chain hash, lowercase hex
	Start     time.Time // when Create ran
	End       time.Time // when Close ran
	Exit      ExitInfo
	Key       string // base64 Ed25519 public key of the signer, or empty
	Signature string // base64 Ed25519 signature, or empty when unsigned
}

// A Checkpoint is a signed statement of the chain at a moment during a session.
type Checkpoint struct {
	SessionID string
	File      string
	Events    int64
	Bytes     int64
	Chain     string
	Time      time.Time
	Key       string
	Signature string
}

// manifestJSON is the stored form of a Manifest.
type manifestJSON struct {
	Type       string `json:"type"`
	SessionID  string `json:"session_id"`
	File       string `json:"file"`
	Events     int64  `json:"events"`
	Bytes      int64  `json:"bytes"`
	Chain      string `json:"chain"`
	Start      string `json:"start"`
	End        string `json:"end"`
	ExitStatus int    `json:"exit_status"`
	ExitSignal string `json:"exit_signal"`
	Key        string `json:"key"`
	Signature  string `json:"signature,omitempty"`
}

// checkpointJSON is the stored form of a Checkpoint.
type checkpointJSON struct {
	Type      string `json:"type"`
	SessionID string `json:"session_id"`
	File      string `json:"file"`
	Events    int64  `json:"events"`
	Bytes     int64  `json:"bytes"`
	Chain     string `json:"chain"`
	Time      string `json:"time"`
	Key       string `json:"key"`
	Signature string `json:"signature,omitempty"`
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (m Manifest) stored() manifestJSON {
	return manifestJSON{
		Type: manifestType, SessionID: m.SessionID, File: m.File,
		Events: m.Events, Bytes: m.Bytes, Chain: m.Chain,
		Start: formatTime(m.Start), End: formatTime(m.End),
		ExitStatus: m.Exit.Status, ExitSignal: m.Exit.Signal,
		Key: m.Key, Signature: m.Signature,
	}
}

func (s manifestJSON) members() []member {
	return []member{
		str("type", s.Type), str("session_id", s.SessionID), str("file", s.File),
		num("events", s.Events), num("bytes", s.Bytes), str("chain", s.Chain),
		str("start", s.Start), str("end", s.End),
		num("exit_status", int64(s.ExitStatus)), str("exit_signal", s.ExitSignal),
		str("key", s.Key),
	}
}

// signed returns the canonical encoding that the signature covers.
func (s manifestJSON) signed() []byte { return canonical(s.members()) }

// encode returns the stored form: the signed members plus the signature.
func (s manifestJSON) encode() []byte {
	ms := s.members()
	if s.Signature != "" {
		ms = append(ms, str("signature", s.Signature))
	}
	return canonical(ms)
}

func (s manifestJSON) manifest() (Manifest, error) {
	start, err1 := time.Parse(time.RFC3339Nano, s.Start)
	end, err2 := time.Parse(time.RFC3339Nano, s.End)
	if err1 != nil || err2 != nil {
		return Manifest{}, fmt.Errorf("%w: manifest times %q, %q", ErrMalformed, s.Start, s.End)
	}
	return Manifest{
		SessionID: s.SessionID, File: s.File, Events: s.Events, Bytes: s.Bytes,
		Chain: s.Chain, Start: start, End: end,
		Exit: ExitInfo{Status: s.ExitStatus, Signal: s.ExitSignal},
		Key:  s.Key, Signature: s.Signature,
	}, nil
}

// MarshalJSON returns the stored, canonical form of m.
func (m Manifest) MarshalJSON() ([]byte, error) { return m.stored().encode(), nil }

func (c Checkpoint) stored() checkpointJSON {
	return checkpointJSON{
		Type: checkpointType, SessionID: c.SessionID, File: c.File,
		Events: c.Events, Bytes: c.Bytes, Chain: c.Chain, Time: formatTime(c.Time),
		Key: c.Key, Signature: c.Signature,
	}
}

func (s checkpointJSON) members() []member {
	return []member{
		str("type", s.Type), str("session_id", s.SessionID), str("file", s.File),
		num("events", s.Events), num("bytes", s.Bytes), str("chain", s.Chain),
		str("time", s.Time), str("key", s.Key),
	}
}

func (s checkpointJSON) signed() []byte { return canonical(s.members()) }

func (s checkpointJSON) encode() []byte {
	ms := s.members()
	if s.Signature != "" {
		ms = append(ms, str("signature", s.Signature))
	}
	return canonical(ms)
}

func (s checkpointJSON) checkpoint() (Checkpoint, error) {
	t, err := time.Parse(time.RFC3339Nano, s.Time)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint time %q", ErrMalformed, s.Time)
	}
	return Checkpoint{
		SessionID: s.SessionID, File: s.File, Events: s.Events, Bytes: s.Bytes,
		Chain: s.Chain, Time: t, Key: s.Key, Signature: s.Signature,
	}, nil
}

// MarshalJSON returns the stored, canonical form of c.
func (c Checkpoint) MarshalJSON() ([]byte, error) { return c.stored().encode(), nil }

// decodeStrict decodes one JSON object into v, rejecting unknown members and
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// ManifestPath returns where the manifest of the recording at castPath is
// stored: "x.cast" → "x.manifest.json".
func ManifestPath(castPath string) string { return stem(castPath) + ".manifest.json" }

// CheckpointsPath returns where the checkpoints of the recording at castPath
// are stored: "x.cast" → "x.checkpoints".
func CheckpointsPath(castPath string) string { return stem(castPath) + ".checkpoints" }

func stem(castPath string) string { return strings.TrimSuffix(castPath, ".cast") }

// LogRecord returns the line that stands for the session of m in a [Log]: a
// canonical JSON object naming the session, its cast file, event count, final
// chain hash and the SHA-256 of the manifest file.
func LogRecord(m Manifest) []byte {
	sum := sha256.Sum256(m.stored().encode())
	return canonical([]member{
		str("type", logRecordType), str("session_id", m.SessionID), str("file", m.File),
		num("events", m.Events), str("chain", m.Chain),
		str("manifest_sha256", hex.EncodeToString(sum[:])),
	})
}
