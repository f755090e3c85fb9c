// Package shipping moves session recordings from the node's disk to
// S3-compatible object storage, so that a recording outlives the node that
// made it.
//
// The recorder still writes every recording locally before the client sees
// any output (fail closed); shipping starts only once bytes are on stable
// storage. At each checkpoint the recording and its checkpoints file are
// uploaded as they stand (the recording up to at least the last
// checkpoint, so the object verifies up to it); when the recording closes,
// its final recording, checkpoints and manifest follow, the manifest last.
//
// Every upload is read back and its SHA-256 compared with that of the
// bytes sent. Local files are removed only after every file of the
// recording was verified in the bucket and the "recording.shipped" audit
// event was written; nothing else ever removes a file. An upload that
// fails is retried with exponential backoff, without end, and each failure
// is audited and counted. Pending work needs no queue on disk: any
// recording file still in the local directory is work not yet done, and
// [Shipper.Recover] finds it at start. It also locks the directory: a
// second bastion on the same directory would take the first one's open
// recordings for ones left by a crash.
//
// Object keys are the recording's path relative to the local recording
// directory (YYYY/MM/DD/SESSION.cast and its siblings) after a
// configurable prefix.
package shipping
