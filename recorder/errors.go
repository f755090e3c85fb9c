package recorder

import "errors"

// Errors returned by Writer methods.
var (
	// ErrClosed is returned by a Writer method called after Close.
	ErrClosed = errors.New("recorder: writer closed")
)

// Reasons a recording or a log fails verification. Verify and VerifyLog wrap
// exactly one of them, so that a caller can tell with errors.Is which check
// failed and record it.
var (
	// ErrChainMismatch: the recomputed hash chain differs from the signed
	// one: a line was altered, inserted or removed, or data follows the
	// signed end.
	ErrChainMismatch = errors.New("recorder: hash chain mismatch")
	// ErrTruncated: the recording ends before the signed end, or its last
	// line is incomplete.
	ErrTruncated = errors.New("recorder: recording truncated")
	// ErrBadSignature: a manifest, checkpoint or tree head is unsigned,
	// signed by another key, or its signature does not verify.
	ErrBadSignature = errors.New("recorder: bad signature")
	// ErrNoManifest: there is neither a manifest nor a checkpoint, so
	// nothing about the recording can be verified.
	ErrNoManifest = errors.New("recorder: no manifest")
	// ErrIncomplete: there is no manifest (the session never closed
	// cleanly) and the recording was verified only up to its last
	// checkpoint; VerifyResult says how far.
	ErrIncomplete = errors.New("recorder: recording incomplete")
	// ErrManifestMismatch: the manifest or a checkpoint belongs to another
	// recording (session id or file name differ).
	ErrManifestMismatch = errors.New("recorder: manifest is for another recording")
	// ErrMalformed: a recording, manifest, checkpoint or log file cannot be
	// parsed.
	ErrMalformed = errors.New("recorder: malformed file")
	// ErrLogMismatch: the records of a session log do not hash to its
	// signed tree head: a record was removed, altered or added.
	ErrLogMismatch = errors.New("recorder: session log mismatch")
	// ErrRollback: the log holds fewer records than a signed tree head
	// saved earlier: it was rolled back.
	ErrRollback = errors.New("recorder: session log rolled back")
	// ErrWitness: a signed tree head could not be handed to the witness.
	ErrWitness = errors.New("recorder: tree head not witnessed")
)
