package recorder

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind is the kind of SSH channel request a session serves.
type Kind string

// Session kinds.
const (
	KindShell     Kind = "shell"
	KindExec      Kind = "exec"
	KindSFTP      Kind = "sftp"
	KindSubsystem Kind = "subsystem"
)

// Default terminal size, written when the header gives none (an exec session
// without a pty): asciicast requires both.
const (
	DefaultWidth  = 80
	DefaultHeight = 24
)

// Meta is the session metadata, written as the "bastion" object of the header.
type Meta struct {
	SessionID string   `json:"session_id"`       // required
	Identity  string   `json:"identity"`         // from the authenticated certificate
	Groups    []string `json:"groups,omitempty"` // from the authenticated certificate
	Source    string   `json:"source"`           // client address, "host:port"
	Target    string   `json:"target"`           // target host
	Login     string   `json:"login"`            // login name on the target
	Kind      Kind     `json:"kind"`
	// Node is the bastion that recorded the session, when several serve
	// as one; recordings made before it existed have none.
	Node string `json:"node,omitempty"`
}

// Header is the first line of a recording.
type Header struct {
	Width, Height int       // terminal size; zero means DefaultWidth x DefaultHeight
	Timestamp     time.Time // session start; zero means the time Create runs
	Command       string    // the exec command, if any
	Title         string
	// Env holds recorded environment variables. As asciinema does, callers
	// should pass only TERM and SHELL: values are stored in the clear.
	Env     map[string]string
	Session Meta
}

// headerJSON is the stored form of a Header.
type headerJSON struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Command   string            `json:"command,omitempty"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Bastion   Meta              `json:"bastion"`
}

// encodeHeader validates h and returns the header line, newline included.
func encodeHeader(h Header) ([]byte, error) {
	if h.Session.SessionID == "" {
		return nil, errors.New("recorder: header: session id is required")
	}
	if h.Width < 0 || h.Height < 0 {
		return nil, fmt.Errorf("recorder: header: invalid terminal size %dx%d", h.Width, h.Height)
	}
	if h.Width == 0 || h.Height == 0 {
		h.Width, h.Height = DefaultWidth, DefaultHeight
	}
	b, err := json.Marshal(headerJSON{
		Version:   2,
		Width:     h.Width,
		Height:    h.Height,
		Timestamp: h.Timestamp.Unix(),
		Command:   h.Command,
		Title:     h.Title,
		Env:       h.Env,
		Bastion:   h.Session,
	})
	if err != nil {
		return nil, fmt.Errorf("recorder: header: %w", err)
	}
	return append(b, '\n'), nil
}
