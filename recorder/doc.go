// Package recorder writes session recordings in the asciicast v2 format and
// keeps the evidence that they were not altered.
//
// # Recording
//
// A recording is one asciicast v2 file ([asciicast v2]): a header line holding
// a JSON object, then one JSON array per event, `[time, code, data]`, where
// time is seconds since the start with six decimals and code is "o" (output),
// "i" (input), "r" (resize, data "COLSxROWS") or "m" (marker). The header
// carries the standard fields plus a "bastion" object with the session
// metadata ([Meta]); asciicast readers ignore keys they do not know, so the
// stock asciinema tools and the web player read the file unchanged.
//
// [Writer.Output] returns only after the whole event line was handed to the
// kernel in a single write(2), so a caller that writes to the recording
// before it writes to the client never shows output that is not recorded. A
// failed write is returned to the caller, which ends the session (fail
// closed), and every later call returns the same error. Data is flushed to
// stable storage at checkpoints and on [Writer.Close], not per event.
//
// # Files
//
// For a recording at DIR/NAME.cast the package writes, all mode 0600 and never
// overwriting an existing file:
//
//	DIR/NAME.cast           the asciicast v2 recording
//	DIR/NAME.checkpoints    one signed checkpoint per line, appended while recording
//	DIR/NAME.manifest.json  the signed manifest, written once by Close
//
// # Integrity
//
// The writer keeps a SHA-256 hash chain over the exact bytes of every line it
// writes, newline included: h0 = SHA-256(header line) and
// hi = SHA-256(hi-1 || line i). A [Checkpoint] records the event count, byte
// size and chain hash at a moment during the session; the [Manifest] records
// them at the end, with start and end times and the exit status. Both are
// encoded in the JSON Canonicalization Scheme ([RFC 8785]): one JSON object
// with keys sorted, no insignificant white space, integers only, and strings
// escaped minimally. The Ed25519 signature covers the canonical encoding of
// the object without its "signature" member and is stored in that member,
// base64-encoded, so any JCS implementation can check it. A "type" member
// separates the two kinds of statement, so that a checkpoint signature cannot
// pass as a manifest signature.
//
// [Verify] recomputes the chain and checks it against the manifest or, for a
// session that never closed, against its last checkpoint. Each way a
// recording can fail verification has its own sentinel error.
//
// # Session log
//
// A [Log] is an append-only Merkle tree ([golang.org/x/mod/sumdb/tlog]) of one
// record per session ([LogRecord]), with a signed tree head. Deleting or
// altering a record, or a whole session whose record is in the log, changes
// the tree and is detected by [VerifyLog] or by an inclusion proof.
//
// A [SharedLog] is the same log kept by a [LogStorage] (the store's
// tables) that several nodes append to: each append is made under a lock
// that spans the nodes and only after the stored tail checks out against
// the newest signed head; [SnapshotShared] verifies every stored row.
//
// [asciicast v2]: https://docs.asciinema.org/manual/asciicast/v2/
// [RFC 8785]: https://www.rfc-editor.org/rfc/rfc8785
package recorder
