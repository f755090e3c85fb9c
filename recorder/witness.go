package recorder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// A Witness keeps each signed tree head of a Log somewhere the data
// directory's owner cannot quietly rewind: another volume, another host. A
// log restored from an older backup (with newer sessions deleted) is then
// caught by comparing it with the newest head the witness holds
// ([CheckExtends]).
type Witness interface {
	// Witness stores head, the newest signed tree head.
	Witness(head []byte) error
}

// FileWitness writes the newest tree head to a file, replacing it
// atomically. The file belongs outside the data directory.
type FileWitness string

// Witness implements [Witness].
func (w FileWitness) Witness(head []byte) error {
	if err := os.MkdirAll(filepath.Dir(string(w)), 0o700); err != nil {
		return fmt.Errorf("recorder: witness: %w", err)
	}
	return replaceFile(string(w), head)
}

// Head returns the head the file holds, or nil if there is none yet.
func (w FileWitness) Head() ([]byte, error) {
	b, err := os.ReadFile(string(w))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recorder: witness: %w", err)
	}
	return b, nil
}

// witnessTimeout bounds one HTTP witness request.
const witnessTimeout = 10 * time.Second

// HTTPWitness posts each tree head (text/plain, the signed note) to a URL;
// any 2xx status means it was kept.
type HTTPWitness struct {
	URL    string
	Client *http.Client // if nil, http.DefaultClient
}

// Witness implements [Witness].
func (w HTTPWitness) Witness(head []byte) error {
	c := w.Client
	if c == nil {
		c = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(context.Background(), witnessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(head))
	if err != nil {
		return fmt.Errorf("recorder: witness: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("recorder: witness: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("recorder: witness %s: %s", w.URL, resp.Status)
	}
	return nil
}

// Witnesses hands each head to every witness in turn.
type Witnesses []Witness

// Witness implements [Witness]: every witness is tried; the errors are joined.
func (ws Witnesses) Witness(head []byte) error {
	var errs []error
	for _, w := range ws {
		errs = append(errs, w.Witness(head))
	}
	return errors.Join(errs...)
}

// SetWitness makes the log hand every signed tree head to w from now on,
// starting with the current one. An Append whose head the witness does
// not take returns ErrWitness: the record is in the log, but the caller
// learns that the head is not anchored.
func (l *Log) SetWitness(w Witness) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.witness = w
	if err := w.Witness(l.head); err != nil {
		return fmt.Errorf("%w: %v", ErrWitness, err)
	}
	return nil
}
