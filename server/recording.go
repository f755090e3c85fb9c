package server

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/recorder"
)

// Recording is the subset of recorder.Writer a session uses.
type Recording interface {
	Output(p []byte) error
	Input(p []byte) error
	Resize(cols, rows int) error
	Marker(label string) error
	Offset() recorder.Position
	Close(exit recorder.ExitInfo) (recorder.Manifest, error)
	Bytes() int64
}

var _ Recording = (*recorder.Writer)(nil)

// RecordingFactory creates the recording for a new session and returns it
// with the path it is written to.
type RecordingFactory func(h recorder.Header) (Recording, string, error)

// FileRecordings writes recordings under dir/YYYY/MM/DD/SESSION.cast.
func FileRecordings(dir string, opts recorder.Options) RecordingFactory {
	return func(h recorder.Header) (Recording, string, error) {
		day := h.Timestamp.UTC().Format("2006/01/02")
		path := filepath.Join(dir, filepath.FromSlash(day), h.Session.SessionID+".cast")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", fmt.Errorf("recording directory: %w", err)
		}
		w, err := recorder.Create(path, h, opts)
		if err != nil {
			return nil, "", err
		}
		return w, path, nil
	}
}
