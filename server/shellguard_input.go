package server

import (
	"bytes"
	"strings"
)

// The client's keystrokes in a guarded shell, while the hook waits for a
// verdict.
//
// The hook reads its verdict from the terminal, so whatever reaches the
// terminal before the verdict is read by the hook (with echo off) and
// handed back in its "typed" report, to be typed again ahead of anything
// typed since. So:
//
//   - while a command is being judged, a key that does not submit a line
//     goes to the target at once (the hook reads it and hands it back); a
//     submit (Enter, Ctrl-J) waits, and so does everything typed after it:
//     no line is submitted into a hook's read;
//   - from the verdict until the hook's report (one round trip to the
//     target), keys wait, so that none overtakes the text typed again;
//     when the hook does not report (a background job's hook), they wait
//     doneTimeout at most, and after a Ctrl-C that interrupted the hook,
//     not at all;
//   - while a command is held for review, keys are dropped and Ctrl-C
//     withdraws the request;
//   - at any other time, keys pass.

// submits reports where p first submits a line: CR (Enter; the terminal
// maps it to LF) or LF (Ctrl-J), or -1.
func submits(p []byte) int { return bytes.IndexAny(p, "\r\n") }

// input takes keystrokes from the client: note records them (false ends
// the session), then they are forwarded, kept behind a waiting submit, or
// dropped under review. It reports false once the target cannot be
// written.
func (g *shellGuard) input(p []byte, note func([]byte) bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held && g.review {
		if bytes.IndexByte(p, ctrlC) >= 0 && g.withdraw != nil {
			g.withdraw()
			g.withdraw = nil
		}
		return true
	}
	if !note(p) {
		return false
	}
	pass := p
	switch {
	case !g.held:
	case len(g.typed) > 0 || g.awaitDone != nil:
		pass = nil
		g.keep(p)
	default:
		if i := submits(p); i >= 0 {
			pass = p[:i]
			g.keep(p[i:])
		}
		if bytes.IndexByte(pass, ctrlC) >= 0 {
			g.interrupted = true
		}
	}
	if len(pass) == 0 {
		return true
	}
	_, err := g.ss.up.Write(pass)
	return err == nil
}

// keep adds keystrokes to those waiting. Past maxTypedAhead (a paste of
// more than 64 KiB while a verdict is out)
// the rest is dropped, and the user told.
func (g *shellGuard) keep(p []byte) {
	if g.overflow || len(g.typed)+len(p) > maxTypedAhead {
		if !g.overflow {
			g.tell("too much typed while a command was being judged; the rest was dropped")
		}
		g.overflow = true
		return
	}
	g.typed = append(g.typed, p...)
}

// release ends a hold once the hook read its verdict: first the
// keystrokes the hook read ahead of the verdict, typed again, then those
// kept here meanwhile. Under mu, so no new keystroke overtakes them. The
// typed-ahead text came from the client in the first place; a forged
// "typed" request can only type what the user could, and every command
// it leads to still passes the hook.
func (g *shellGuard) release(typedAhead string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.awaitDone == nil {
		return // no verdict out: a report nobody asked for (forged) changes nothing
	}
	g.awaitDone.Stop()
	g.awaitDone = nil
	g.flush(typedAhead)
}

// flush ends a hold: the typed-ahead text the hook handed back, then the
// keystrokes kept here. Under mu.
func (g *shellGuard) flush(typedAhead string) {
	if typedAhead != "" && len(typedAhead) <= maxTypedAhead {
		_, _ = g.ss.up.Write([]byte(strings.ReplaceAll(typedAhead, "\n", "\r"))) // a target gone is seen by the output pipe
	}
	if len(g.typed) > 0 {
		_, _ = g.ss.up.Write(g.typed)
	}
	g.held, g.typed, g.overflow = false, nil, false
}
