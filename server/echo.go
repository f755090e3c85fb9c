package server

import (
	"bytes"
	"sync"
)

// typedMax bounds the keystrokes kept for matching echoes: a line or two of
// typing, or a short paste.
const typedMax = 256

// keystrokes remembers the bytes a client typed on a terminal that the
// target has not echoed yet, so that an output pipe can tell the echo of
// typing from other output. Only output that is exactly the echo of typed
// bytes skips the masker's hold on its way to the client: it holds nothing
// the client did not send itself. Anything else, however small and however
// soon after a keystroke, is masked like all output.
type keystrokes struct {
	mu    sync.Mutex
	typed []byte // typed bytes not yet echoed, oldest first
}

// add records bytes the client sent. It is called before they are
// forwarded, so their echo cannot overtake them.
func (k *keystrokes) add(p []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.typed = append(k.typed, p...)
	if n := len(k.typed) - typedMax; n > 0 {
		k.typed = append(k.typed[:0], k.typed[n:]...)
	}
}

// takeEcho reports whether out is exactly the echo of a run of typed bytes
// (see echoOf), and forgets the typed bytes up to the end of that run.
// Typed bytes that were never echoed (a password, keys read with echo off)
// are skipped over.
func (k *keystrokes) takeEcho(out []byte) bool {
	if len(out) == 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.typed {
		if n := echoOf(k.typed[i:], out); n > 0 {
			k.typed = append(k.typed[:0], k.typed[i+n:]...)
			return true
		}
	}
	return false
}

// echoOf returns how many bytes of typed the output out echoes exactly,
// and 0 if out is not such an echo as a whole. A printable byte echoes as
// itself, Enter as CR LF, Backspace/Delete as "\b \b" or "\b\x1b[K", and
// the left and right arrow keys as a cursor move. Other keys (Tab, Up, ^R)
// make the shell print text of its choosing, which is masked as output.
func echoOf(typed, out []byte) int {
	t, o := 0, 0
	for o < len(out) {
		if t == len(typed) {
			return 0
		}
		c := typed[t]
		var alts []string
		tn := 1
		switch {
		case c == '\r':
			alts = []string{"\r\n"}
		case c == 0x7f || c == '\b':
			alts = []string{"\b \b", "\b\x1b[K"}
		case bytes.HasPrefix(typed[t:], []byte("\x1b[D")) || bytes.HasPrefix(typed[t:], []byte("\x1bOD")):
			alts, tn = []string{"\b", "\x1b[D"}, 3
		case bytes.HasPrefix(typed[t:], []byte("\x1b[C")) || bytes.HasPrefix(typed[t:], []byte("\x1bOC")):
			alts, tn = []string{"\x1b[C"}, 3
		case c >= 0x20 && c != 0x7f:
			alts = []string{string(c)}
		default:
			return 0
		}
		matched := false
		for _, a := range alts {
			if bytes.HasPrefix(out[o:], []byte(a)) {
				o += len(a)
				matched = true
				break
			}
		}
		if !matched {
			return 0
		}
		t += tn
	}
	return t
}
