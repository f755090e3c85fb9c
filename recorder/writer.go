package recorder

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// DefaultCheckpointEvery is the checkpoint interval used when
// Options.CheckpointEvery is zero.
const DefaultCheckpointEvery = 30 * time.Second

// maxEventData bounds the data of one event. Longer writes are split into
// several events at UTF-8 boundaries, so that no line exceeds 6*maxEventData
// bytes plus a few, well below the line limit of readers (replay: 8 MiB).
const maxEventData = 256 << 10

// Line buffer reuse: a Writer keeps its line buffer between events, so a
// session streaming output allocates nothing per event, but lets go of a
// large one after smallEventsToShrink events in a row that used less than
// a quarter of it, so an interactive session that once streamed holds no
// more than smallBuffer. (Reads of a stream vary in size, so one small
// event must not drop the buffer a large one will need again.)
const (
	smallEventsToShrink = 16
	// maxKeptBuffer covers the longest event line, maxEventData bytes that
	// all escape to six (NULs), with room for append's growth overshoot.
	maxKeptBuffer = 8 * maxEventData
	// smallBuffer is always kept.
	smallBuffer = 64 << 10
)

// Options configures a Writer. The zero value is usable.
type Options struct {
	// Clock returns the current time; if nil, time.Now is used. Event times
	// are made non-decreasing even if the clock steps back.
	Clock func() time.Time
	// Signer signs checkpoints and the manifest. It must hold an Ed25519 key
	// (an ed25519.PrivateKey is one). If nil, nothing is signed but the hash
	// chain is still kept and written.
	Signer crypto.Signer
	// CheckpointEvery is the interval between periodic checkpoints, measured
	// on the real clock. Zero means DefaultCheckpointEvery; negative turns
	// checkpoints off, and no checkpoints file is created.
	CheckpointEvery time.Duration
	// Checkpointed, if not nil, is called with the recording's path after
	// each checkpoint is on stable storage, e.g. to ship the files as they
	// stand. It runs while the writer waits and must return at once.
	Checkpointed func(castPath string)
}

// Position is a point in a recording, for audit events to refer to.
type Position struct {
	Event   int64         // events written so far: the index of the next event (header excluded)
	Elapsed time.Duration // time since the start, as event times count it
	Offset  int64         // bytes written so far: the offset of the next line
}

// file is where a Writer puts the recording: an *os.File, or a stand-in in
// tests.
type file interface {
	io.Writer
	Sync() error
	Close() error
}

// A Writer writes one session recording. Its methods are safe for
// concurrent use.
type Writer struct {
	// Set when created, read-only afterwards.
	path      string
	name      string // base name of path
	sessionID string
	clock     func() time.Time
	start     time.Time
	signer    crypto.Signer // nil: unsigned
	key       string        // base64 public key of signer, or ""
	onCP      func(string)  // Options.Checkpointed, or nil

	// Periodic checkpoints; nil channels when they are off.
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// Lock order: cpMu, then mu.
	cpMu     sync.Mutex
	cp       *os.File // checkpoints file, nil when off or closed; guarded by cpMu
	cpEvents int64    // event count at the last checkpoint, -1 before the first; guarded by cpMu

	mu          sync.Mutex
	f           file              // guarded by mu
	buf         []byte            // line buffer; guarded by mu
	smallEvents int               // events in a row that used little of buf; guarded by mu
	h           hash.Hash         // guarded by mu
	chain       [sha256.Size]byte // hash chain over the lines written; guarded by mu
	events      int64             // event lines written; guarded by mu
	size        int64             // bytes written; guarded by mu
	last        time.Duration     // latest event time; guarded by mu
	err         error             // first failure, returned from then on; guarded by mu
	closed      bool              // guarded by mu
}

// Create creates the recording at path and writes its header. The file is
// created with mode 0600 (missing directories 0700) and never overwrites an
// existing file; neither may a manifest or checkpoints file exist for path.
func Create(path string, h Header, opts Options) (*Writer, error) {
	// Validate before touching the disk.
	if _, err := encodeHeader(h); err != nil {
		return nil, err
	}
	if _, err := signerKey(opts.Signer); err != nil {
		return nil, err
	}
	switch _, err := os.Lstat(ManifestPath(path)); {
	case err == nil:
		return nil, fmt.Errorf("recorder: create %s: manifest %s: %w", path, ManifestPath(path), fs.ErrExist)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("recorder: create: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recorder: create: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recorder: create: %w", err)
	}
	w, err := newWriter(f, path, h, opts)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	every := opts.CheckpointEvery
	if every == 0 {
		every = DefaultCheckpointEvery
	}
	if every > 0 {
		w.cp, err = os.OpenFile(CheckpointsPath(path), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("recorder: create: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		w.abandon()
		return nil, err
	}
	if every > 0 {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.checkpointLoop(every)
	}
	return w, nil
}

// newWriter returns a Writer that writes to f, after writing the header.
func newWriter(f file, path string, h Header, opts Options) (*Writer, error) {
	key, err := signerKey(opts.Signer)
	if err != nil {
		return nil, err
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	w := &Writer{
		path:      path,
		name:      filepath.Base(path),
		sessionID: h.Session.SessionID,
		clock:     clock,
		start:     clock(),
		signer:    opts.Signer,
		onCP:      opts.Checkpointed,
		cpEvents:  -1,
		f:         f,
		h:         sha256.New(),
	}
	if key != nil {
		w.key = base64.StdEncoding.EncodeToString(key)
	}
	if h.Timestamp.IsZero() {
		h.Timestamp = w.start
	}
	line, err := encodeHeader(h)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendLocked(line); err != nil {
		return nil, err
	}
	w.chain = sha256.Sum256(line) // h0 hashes the header alone
	return w, nil
}

// abandon closes and removes the files of a Writer that failed to start.
func (w *Writer) abandon() {
	w.f.Close()
	os.Remove(w.path)
	if w.cp != nil {
		w.cp.Close()
		os.Remove(CheckpointsPath(w.path))
	}
}

// Output records p, written by the target to the client, as an "o" event. It
// returns once the event is written to the file (not synced), or the error
// that prevented it. p should end on a UTF-8 boundary; bytes that are not
// valid UTF-8 are recorded as U+FFFD.
func (w *Writer) Output(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	return w.write('o', p)
}

// Input records p, typed by the client, as an "i" event.
func (w *Writer) Input(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	return w.write('i', p)
}

// Resize records a terminal size change as an "r" event.
func (w *Writer) Resize(cols, rows int) error {
	if cols <= 0 || rows <= 0 {
		return fmt.Errorf("recorder: invalid terminal size %dx%d", cols, rows)
	}
	var b [48]byte
	d := strconv.AppendInt(b[:0], int64(cols), 10)
	d = append(d, 'x')
	d = strconv.AppendInt(d, int64(rows), 10)
	return w.write('r', d)
}

// Marker records a marker event ("m") with the given label.
func (w *Writer) Marker(label string) error {
	if len(label) > maxEventData {
		return fmt.Errorf("recorder: marker label longer than %d bytes", maxEventData)
	}
	return w.write('m', []byte(label))
}

// Offset returns the current position in the recording.
func (w *Writer) Offset() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Position{Event: w.events, Elapsed: w.elapsedLocked(), Offset: w.size}
}

// Bytes returns the number of bytes written to the recording so far.
func (w *Writer) Bytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// write records p as one or more events with the given code, splitting it
// at UTF-8 boundaries into pieces of at most maxEventData bytes.
func (w *Writer) write(code byte, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	for {
		n := validUTF8Prefix(p, maxEventData)
		if err := w.eventLocked(code, p[:n]); err != nil {
			return err
		}
		if p = p[n:]; len(p) == 0 {
			return nil
		}
	}
}

func (w *Writer) usableLocked() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// eventLocked writes one event line.
func (w *Writer) eventLocked(code byte, data []byte) error {
	b := append(w.buf[:0], '[')
	b = appendSeconds(b, w.elapsedLocked())
	b = append(b, ',', '"', code, '"', ',')
	b = appendJSONString(b, data)
	b = append(b, ']', '\n')
	w.keepLineBufferLocked(b)
	if err := w.appendLocked(b); err != nil {
		return err
	}
	w.h.Reset()
	w.h.Write(w.chain[:])
	w.h.Write(b)
	w.h.Sum(w.chain[:0])
	w.events++
	return nil
}

func (w *Writer) keepLineBufferLocked(b []byte) {
	c := cap(b)
	switch {
	case c <= smallBuffer:
	case c > maxKeptBuffer:
		b = nil
	case len(b) >= c/4:
		w.smallEvents = 0
	default:
		if w.smallEvents++; w.smallEvents >= smallEventsToShrink {
			b, w.smallEvents = nil, 0
		}
	}
	w.buf = b
}

// appendLocked writes line with a single Write call. On failure it records
// the error, which every later call returns, and cuts off a partial line when
// f can be truncated, so that the file stays a valid recording.
func (w *Writer) appendLocked(line []byte) error {
	n, err := w.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("recorder: write %s: %w", w.path, err)
		if t, ok := w.f.(interface{ Truncate(int64) error }); ok && n > 0 {
			t.Truncate(w.size)
		}
		return w.err
	}
	w.size += int64(n)
	return nil
}

// elapsedLocked returns the time since the start, never less than the time
// of the previous event.
func (w *Writer) elapsedLocked() time.Duration {
	d := w.clock().Sub(w.start)
	if d < w.last {
		d = w.last
	}
	w.last = d
	return d
}

// Close writes the final marker ("exit N", or "exit N signal S"), flushes the
// recording to stable storage, closes it and writes the signed manifest. If
// any write failed, during the session or now, Close returns that error and
// writes no manifest: the recording can then be verified only up to its last
// checkpoint.
func (w *Writer) Close(exit ExitInfo) (Manifest, error) {
	w.stopCheckpoints()
	w.cpMu.Lock()
	defer w.cpMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Manifest{}, ErrClosed
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.eventLocked('m', []byte(exit.label()))
	}
	if err == nil {
		if e := w.f.Sync(); e != nil {
			err = fmt.Errorf("recorder: sync %s: %w", w.path, e)
		}
	}
	if e := w.f.Close(); e != nil && err == nil {
		err = fmt.Errorf("recorder: close %s: %w", w.path, e)
	}
	if w.cp != nil {
		if e := w.cp.Close(); e != nil && err == nil {
			err = fmt.Errorf("recorder: close %s: %w", CheckpointsPath(w.path), e)
		}
		w.cp = nil
	}
	if err != nil {
		w.err = err
		return Manifest{}, err
	}
	m := Manifest{
		SessionID: w.sessionID,
		File:      w.name,
		Events:    w.events,
		Bytes:     w.size,
		Chain:     hex.EncodeToString(w.chain[:]),
		Start:     w.start.Round(0),
		End:       w.clock().Round(0),
		Exit:      exit,
		Key:       w.key,
	}
	if w.signer != nil {
		sig, err := signCanonical(w.signer, m.stored().signed())
		if err != nil {
			return Manifest{}, err
		}
		m.Signature = sig
	}
	if err := writeNew(ManifestPath(w.path), m.stored().encode()); err != nil {
		return Manifest{}, err
	}
	return m, nil
}
