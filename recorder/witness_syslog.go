//go:build !windows && !plan9

package recorder

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/syslog"
	"strings"
)

// syslogNote marks the signed head in a syslog line.
const syslogNote = "note="

// SyslogWitness sends each tree head to the system log (facility auth,
// severity notice, tag "bastion"), from where a central collector keeps
// it beyond the reach of the bastion's host. The line reads
// "session log head SIZE HASH note=BASE64", the note being the signed head;
// [ParseWitnessedHead] turns such a line back into the head.
type SyslogWitness struct {
	w *syslog.Writer
}

// NewSyslogWitness connects to the local system log.
func NewSyslogWitness() (*SyslogWitness, error) {
	w, err := syslog.New(syslog.LOG_AUTH|syslog.LOG_NOTICE, "bastion")
	if err != nil {
		return nil, fmt.Errorf("recorder: syslog witness: %w", err)
	}
	return &SyslogWitness{w: w}, nil
}

// Witness implements [Witness].
func (s *SyslogWitness) Witness(head []byte) error {
	text, _, _ := bytes.Cut(bytes.TrimPrefix(head, []byte(headPrefix)), []byte("\n\n"))
	line := fmt.Sprintf("session log head %s %s%s", strings.ReplaceAll(string(text), "\n", " "), syslogNote,
		base64.StdEncoding.EncodeToString(head))
	if err := s.w.Notice(line); err != nil {
		return fmt.Errorf("recorder: syslog witness: %w", err)
	}
	return nil
}

// ParseWitnessedHead returns the signed head in data: a head as written
// by `bastion log head` or a file witness, or a syslog line written by a
// SyslogWitness (the last note= on it).
func ParseWitnessedHead(data []byte) ([]byte, error) {
	i := bytes.LastIndex(data, []byte(syslogNote))
	if bytes.HasPrefix(data, []byte(headPrefix)) || i < 0 {
		return data, nil
	}
	enc := bytes.Fields(data[i+len(syslogNote):])
	if len(enc) == 0 {
		return nil, fmt.Errorf("%w: empty note= in a syslog line", ErrMalformed)
	}
	head, err := base64.StdEncoding.DecodeString(string(enc[0]))
	if err != nil {
		return nil, fmt.Errorf("%w: syslog line: %v", ErrMalformed, err)
	}
	return head, nil
}
