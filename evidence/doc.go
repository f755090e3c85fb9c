// Package evidence writes and checks evidence bundles: one tar archive that
// an auditor takes away and verifies on a machine with nothing else (no
// database, no data directory, no network).
//
// # Layout
//
//	README.txt                     how to check the bundle
//	index.html                     sessions, audit events and verification, browsable offline
//	report.json                    the same for tools
//	keys/signing_key.pub           the bastion's Ed25519 signing key (OpenSSH format)
//	log/head                       the session log's signed tree head at export
//	audit/events.jsonl             the audit chain from the first exported event to a checkpoint:
//	                               exported events in full, the others as digests only
//	audit/checkpoint.json          that checkpoint's record with its inclusion proof
//	sessions/ID/session.json       the session: row, certificate, approvals, masking records,
//	                               its log record's inclusion proof, verification at export
//	sessions/ID/NAME.cast          the recording, its .manifest.json and .checkpoints
//	sessions/ID/play.html, cast.js the recording, playable offline
//	player/                        the browser player (asciinema-player, Apache-2.0)
//	MANIFEST.json                  size and SHA-256 of every other member, signed
//
// MANIFEST.json is the last member. Its Ed25519 signature covers its JCS
// (RFC 8785) encoding without the "signature" member, as recordings'
// manifests do. The auditor compares the key's fingerprint with one
// obtained from the bastion's operators by another channel: a bundle
// re-signed with another key verifies against that key only. [Verify] checks it first, then each member against it
// (altered, missing and unlisted members are named), then what the members
// claim: recordings against their signed manifests, log records against
// the signed tree head, audit events against the chain and its checkpoint.
//
// Export streams: each member is written as it is read, recordings are
// copied, not loaded, so memory does not grow with the bundle.
package evidence
