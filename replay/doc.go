// Package replay reads session recordings in the asciicast v2 format
// (https://docs.asciinema.org/manual/asciicast/v2/), such as those written
// by package recorder, and prints, plays and searches them; WebPlayer plays
// one in a browser.
//
// Recordings are untrusted input: Open and Read reject a malformed file with
// a *ParseError naming the line and the problem, and never panic. They hold
// the whole recording in memory; a line may be at most MaxLineBytes long.
// Checking that a recording was not altered is recorder.Verify's job.
package replay
