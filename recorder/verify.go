package recorder

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// VerifyResult is what Verify established about a recording.
type VerifyResult struct {
	SessionID   string    // from the recording's header
	Events      int64     // complete event lines in the file (header excluded)
	Bytes       int64     // size of the file
	Verified    int64     // events covered by the manifest, or by the last checkpoint
	Chain       string    // chain hash after Verified events, hex
	Complete    bool      // a manifest covers the whole recording
	Signed      bool      // signatures were checked against a public key
	Checkpoints int       // checkpoints checked
	Manifest    *Manifest // nil when there is none
	// Header is the recording's header line, covered by the hash chain:
	// who, where and what, as recorded. Nil if it did not parse.
	Header *Header
}

// String describes the result in one line.
func (r VerifyResult) String() string {
	signed := "unsigned"
	if r.Signed {
		signed = "signed"
	}
	if r.Complete {
		return fmt.Sprintf("verified: %d events, %d bytes, %s", r.Events, r.Bytes, signed)
	}
	return fmt.Sprintf("incomplete: verified up to event %d of %d, %s", r.Verified, r.Events, signed)
}

// Verify checks the recording at castPath against its manifest and
// checkpoints. If pub is not nil, each of them must carry a valid signature
// by pub; if pub is nil, signatures are not checked, only the hash chain.
//
// A nil error means the whole recording is covered by a manifest. Otherwise
// the error wraps one of ErrChainMismatch, ErrTruncated, ErrBadSignature,
// ErrNoManifest, ErrIncomplete, ErrManifestMismatch or ErrMalformed, and the
// result says how far verification got. ErrIncomplete means there is no
// manifest but the recording matches its last checkpoint.
func Verify(castPath string, pub ed25519.PublicKey) (VerifyResult, error) {
	var res VerifyResult
	m, err := readManifest(castPath)
	if err != nil {
		return res, err
	}
	cps, err := readCheckpoints(castPath)
	if err != nil {
		return res, err
	}
	if m == nil && len(cps) == 0 {
		return res, fmt.Errorf("%w: %s has neither manifest nor checkpoints", ErrNoManifest, castPath)
	}
	if pub != nil {
		if m != nil {
			if err := checkSignature(pub, m.Key, m.Signature, m.signed()); err != nil {
				return res, fmt.Errorf("manifest: %w", err)
			}
		}
		for i, c := range cps {
			if err := checkSignature(pub, c.Key, c.Signature, c.signed()); err != nil {
				return res, fmt.Errorf("checkpoint %d: %w", i+1, err)
			}
		}
		res.Signed = true
	}

	want := make(map[int64]bool)
	if m != nil {
		want[m.Events] = true
	}
	for _, c := range cps {
		want[c.Events] = true
	}
	sc, err := scanCast(castPath, want)
	if err != nil {
		return res, err
	}
	res.SessionID, res.Events, res.Bytes, res.Header = sc.sessionID, max(sc.events, 0), sc.size, sc.header
	if sc.events < 0 {
		return res, fmt.Errorf("%w: %s has no complete header line", ErrTruncated, castPath)
	}

	name := filepath.Base(castPath)
	if m != nil && (m.File != name || sc.headerOK && m.SessionID != sc.sessionID) {
		return res, fmt.Errorf("%w: manifest is for %s (session %q), not %s (session %q)",
			ErrManifestMismatch, m.File, m.SessionID, name, sc.sessionID)
	}
	for i, c := range cps {
		if c.File != name || sc.headerOK && c.SessionID != sc.sessionID {
			return res, fmt.Errorf("%w: checkpoint %d is for %s (session %q)", ErrManifestMismatch, i+1, c.File, c.SessionID)
		}
		if m != nil && c.Events > m.Events {
			return res, fmt.Errorf("%w: checkpoint %d is past the signed end", ErrChainMismatch, i+1)
		}
		if c.Events > sc.events {
			continue // judged below, as truncation
		}
		if at := sc.at[c.Events]; at.chain != c.Chain || at.size != c.Bytes {
			return res, fmt.Errorf("%w: at checkpoint %d (event %d)", ErrChainMismatch, i+1, c.Events)
		}
		res.Checkpoints++
		res.Verified, res.Chain = c.Events, c.Chain
	}

	if m == nil {
		last := cps[len(cps)-1]
		if sc.events < last.Events {
			return res, fmt.Errorf("%w: %d events, but a checkpoint covers %d", ErrTruncated, sc.events, last.Events)
		}
		return res, fmt.Errorf("%w: no manifest; verified up to event %d of %d", ErrIncomplete, res.Verified, sc.events)
	}
	mm, err := m.manifest()
	if err != nil {
		return res, err
	}
	res.Manifest = &mm
	switch {
	case sc.events < m.Events:
		if sc.size < m.Bytes && (sc.partial || !isExitMarker(sc.lastLine)) {
			return res, fmt.Errorf("%w: %d of %d events, %d of %d bytes", ErrTruncated, sc.events, m.Events, sc.size, m.Bytes)
		}
		return res, fmt.Errorf("%w: %d events, manifest says %d", ErrChainMismatch, sc.events, m.Events)
	case sc.at[m.Events].chain != m.Chain || sc.at[m.Events].size != m.Bytes:
		return res, fmt.Errorf("%w: recomputed chain differs from the manifest", ErrChainMismatch)
	case sc.size != m.Bytes:
		return res, fmt.Errorf("%w: %d bytes after the signed end", ErrChainMismatch, sc.size-m.Bytes)
	}
	res.Verified, res.Chain, res.Complete = m.Events, m.Chain, true
	return res, nil
}

// readManifest reads the manifest of castPath; nil if there is none.
func readManifest(castPath string) (*manifestJSON, error) {
	path := ManifestPath(castPath)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	var m manifestJSON
	if err := decodeStrict(data, &m); err != nil || m.Type != manifestType {
		return nil, fmt.Errorf("%w: %s: not a %s manifest (%v)", ErrMalformed, path, manifestType, err)
	}
	return &m, nil
}

// readCheckpoints reads the checkpoints of castPath, ignoring an incomplete
// last line (a crash while appending it).
func readCheckpoints(castPath string) ([]checkpointJSON, error) {
	path := CheckpointsPath(castPath)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	var cps []checkpointJSON
	for i := 1; ; i++ {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return cps, nil
		}
		data = rest
		var c checkpointJSON
		if err := decodeStrict(line, &c); err != nil || c.Type != checkpointType {
			return nil, fmt.Errorf("%w: %s:%d: not a %s checkpoint (%v)", ErrMalformed, path, i, checkpointType, err)
		}
		if n := len(cps); n > 0 && c.Events <= cps[n-1].Events {
			return nil, fmt.Errorf("%w: %s:%d: event count %d does not increase", ErrMalformed, path, i, c.Events)
		}
		cps = append(cps, c)
	}
}

// chainAt is the state of the chain after some number of events.
type chainAt struct {
	size  int64
	chain string
}

// castScan is what scanCast found in a recording.
type castScan struct {
	sessionID string
	header    *Header           // the parsed header, nil if it did not parse
	headerOK  bool              // the header parsed as JSON
	events    int64             // complete event lines; -1 if not even the header is complete
	size      int64             // bytes in the file, a partial last line included
	partial   bool              // the file ends inside a line
	lastLine  []byte            // the last complete line (up to 4 KiB of it)
	at        map[int64]chainAt // chain after each wanted event count
}

// Bounds on how much of a line scanCast keeps to parse.
const (
	maxHeaderLine = 1 << 20
	maxLastLine   = 4 << 10
)

// scanCast recomputes the hash chain of a recording in one pass, noting its
// state after each event count in want.
func scanCast(path string, want map[int64]bool) (castScan, error) {
	sc := castScan{events: -1, at: make(map[int64]chainAt)}
	f, err := os.Open(path)
	if err != nil {
		return sc, fmt.Errorf("recorder: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	h := sha256.New()
	var chain [sha256.Size]byte
	var line []byte
	for lines := int64(0); ; lines++ {
		h.Reset()
		if lines > 0 {
			h.Write(chain[:])
		}
		limit := maxLastLine
		if lines == 0 {
			limit = maxHeaderLine
		}
		line = line[:0]
		n, complete := 0, false
		for {
			chunk, err := br.ReadSlice('\n')
			h.Write(chunk)
			n += len(chunk)
			if room := limit - len(line); room > 0 {
				line = append(line, chunk[:min(room, len(chunk))]...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && err != io.EOF {
				return sc, fmt.Errorf("recorder: read %s: %w", path, err)
			}
			complete = err == nil
			break
		}
		sc.size += int64(n)
		if !complete {
			sc.partial = n > 0
			return sc, nil
		}
		h.Sum(chain[:0])
		sc.events = lines // event lines so far: all but the header
		if lines == 0 {
			var hdr headerJSON
			if json.Unmarshal(line, &hdr) == nil {
				sc.sessionID, sc.headerOK = hdr.Bastion.SessionID, true
				sc.header = &Header{Width: hdr.Width, Height: hdr.Height, Timestamp: time.Unix(hdr.Timestamp, 0),
					Command: hdr.Command, Title: hdr.Title, Env: hdr.Env, Session: hdr.Bastion}
			}
		}
		sc.lastLine = append(sc.lastLine[:0], line...)
		if want[sc.events] {
			sc.at[sc.events] = chainAt{size: sc.size, chain: hex.EncodeToString(chain[:])}
		}
	}
}

// isExitMarker reports whether line is the final marker Close writes.
func isExitMarker(line []byte) bool {
	var ev []any
	if json.Unmarshal(line, &ev) != nil || len(ev) != 3 {
		return false
	}
	code, _ := ev[1].(string)
	label, _ := ev[2].(string)
	return code == "m" && strings.HasPrefix(label, "exit ")
}
