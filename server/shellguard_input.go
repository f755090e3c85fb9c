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
// handed back in its "typed" report, to be typed again. Keystrokes that
// do not submit a line go to the target at once, whatever the guard is
// doing: a key is never held for a verdict. A submit (Enter, Ctrl-J)
// typed while a verdict is out waits until the hook reported what it read
// ahead of the verdict, and so does everything typed after it: the
// text typed again goes first, and no line is submitted without it. A key
// that overtakes that text can only do so within the line being edited,
// on the screen before its Enter is sent. While a command is held for
// review, keys are dropped and Ctrl-C withdraws the request.

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
	case len(g.typed) > 0:
		pass = nil
		g.keep(p)
	case submits(p) >= 0:
		i := submits(p)
		pass = p[:i]
		g.keep(p[i:])
	}
	if len(pass) == 0 {
		return true
	}
	_, err := g.ss.up.Write(pass)
	return err == nil
}

// keep adds keystrokes to those waiting behind a submit. Past
// maxTypedAhead (a paste of more than 64 KiB while a verdict is out)
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
	if typedAhead != "" && len(typedAhead) <= maxTypedAhead {
		_, _ = g.ss.up.Write([]byte(strings.ReplaceAll(typedAhead, "\n", "\r"))) // a target gone is seen by the output pipe
	}
	if len(g.typed) > 0 {
		_, _ = g.ss.up.Write(g.typed)
	}
	g.held, g.typed, g.overflow = false, nil, false
}
