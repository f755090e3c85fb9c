package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
)

// MaxLineBytes is the longest line Open and Read accept. package recorder
// splits its events well below it.
const MaxLineBytes = 8 << 20

// ErrLineTooLong is wrapped by the ParseError for a line longer than
// MaxLineBytes.
var ErrLineTooLong = errors.New("line longer than 8 MiB")

// A Recording is a parsed asciicast v2 file.
type Recording struct {
	Header Header
	Events []Event
}

// Header is the header line of a recording.
type Header struct {
	Version       int // always 2
	Width, Height int
	Timestamp     time.Time // start time; zero if absent
	IdleTimeLimit float64   // seconds, as set by the recording tool; 0 if absent
	Command       string
	Title         string
	Env           map[string]string
	Session       recorder.Meta // the "bastion" object; zero if absent
}

// An Event is one event line: Time in seconds since the start, Code "o"
// (output), "i" (input), "r" (resize, Data "COLSxROWS"), "m" (marker) or
// another code, and its Data.
type Event struct {
	Time float64
	Code string
	Data string
}

// A ParseError describes a malformed recording.
type ParseError struct {
	Path string // file name, empty when read from an io.Reader
	Line int    // 1-based; the header is line 1
	Err  error
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("replay: line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("replay: %s:%d: %v", e.Path, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Open reads and parses the recording at path.
func Open(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	rec, err := Read(f)
	if pe, ok := err.(*ParseError); ok {
		pe.Path = path
	}
	return rec, err
}

// Read parses a recording from r.
func Read(r io.Reader) (*Recording, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	rec := new(Recording)
	line := 0
	for sc.Scan() {
		line++
		var err error
		if line == 1 {
			rec.Header, err = parseHeader(sc.Bytes())
		} else {
			err = rec.addEvent(sc.Bytes())
		}
		if err != nil {
			return nil, &ParseError{Line: line, Err: err}
		}
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return nil, &ParseError{Line: line + 1, Err: ErrLineTooLong}
	case err != nil:
		return nil, fmt.Errorf("replay: %w", err)
	case line == 0:
		return nil, &ParseError{Line: 1, Err: errors.New("empty file: no header")}
	}
	return rec, nil
}

// headerJSON is the stored form of a header; pointers tell absent fields.
type headerJSON struct {
	Version       *int              `json:"version"`
	Width         *int              `json:"width"`
	Height        *int              `json:"height"`
	Timestamp     *float64          `json:"timestamp"`
	IdleTimeLimit *float64          `json:"idle_time_limit"`
	Command       string            `json:"command"`
	Title         string            `json:"title"`
	Env           map[string]string `json:"env"`
	Bastion       *recorder.Meta    `json:"bastion"`
}

func parseHeader(line []byte) (Header, error) {
	if trimmed := bytes.TrimSpace(line); len(trimmed) == 0 || trimmed[0] != '{' {
		return Header{}, errors.New("header is not a JSON object")
	}
	var h headerJSON
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, fmt.Errorf("header: %v", err)
	}
	switch {
	case h.Version == nil:
		return Header{}, errors.New("header has no version")
	case *h.Version != 2:
		return Header{}, fmt.Errorf("unsupported asciicast version %d, want 2", *h.Version)
	case h.Width == nil || h.Height == nil || *h.Width <= 0 || *h.Height <= 0:
		return Header{}, errors.New("header needs a positive width and height")
	}
	out := Header{
		Version: 2, Width: *h.Width, Height: *h.Height,
		Command: h.Command, Title: h.Title, Env: h.Env,
	}
	if h.Timestamp != nil {
		if *h.Timestamp < 0 || *h.Timestamp > 1<<40 {
			return Header{}, fmt.Errorf("header timestamp %v out of range", *h.Timestamp)
		}
		out.Timestamp = time.Unix(int64(*h.Timestamp), 0).UTC()
	}
	if h.IdleTimeLimit != nil {
		if *h.IdleTimeLimit < 0 {
			return Header{}, fmt.Errorf("negative idle_time_limit %v", *h.IdleTimeLimit)
		}
		out.IdleTimeLimit = *h.IdleTimeLimit
	}
	if h.Bastion != nil {
		out.Session = *h.Bastion
	}
	return out, nil
}

// addEvent parses an event line and appends it.
func (r *Recording) addEvent(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return errors.New("empty line")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("event is a JSON %s, not an array [time, code, data]", typeErr.Value)
		}
		return fmt.Errorf("event is not valid JSON: %v", err)
	}
	if len(raw) != 3 {
		return fmt.Errorf("event has %d elements, want 3: [time, code, data]", len(raw))
	}
	var e Event
	if err := json.Unmarshal(raw[0], &e.Time); err != nil {
		return fmt.Errorf("event time %s is not a number", raw[0])
	}
	if err := json.Unmarshal(raw[1], &e.Code); err != nil || e.Code == "" {
		return fmt.Errorf("event code %s is not a non-empty string", raw[1])
	}
	if err := json.Unmarshal(raw[2], &e.Data); err != nil {
		return fmt.Errorf("event data is not a string: %v", err)
	}
	if e.Time < 0 || math.IsInf(e.Time, 0) || math.IsNaN(e.Time) {
		return fmt.Errorf("event time %v is negative", e.Time)
	}
	if n := len(r.Events); n > 0 && e.Time < r.Events[n-1].Time {
		return fmt.Errorf("event time %v is before the previous event's %v", e.Time, r.Events[n-1].Time)
	}
	r.Events = append(r.Events, e)
	return nil
}

// AddMarkers merges markers ("m" events, such as audit events that carry
// a position in the recording) into r.Events by time; a marker goes after
// the events of the same time.
func (r *Recording) AddMarkers(markers []Event) {
	if len(markers) == 0 {
		return
	}
	ms := append([]Event(nil), markers...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Time < ms[j].Time })
	out := make([]Event, 0, len(r.Events)+len(ms))
	i := 0
	for _, e := range r.Events {
		for i < len(ms) && ms[i].Time < e.Time {
			out = append(out, ms[i])
			i++
		}
		out = append(out, e)
	}
	r.Events = append(out, ms[i:]...)
}
