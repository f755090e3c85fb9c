package main

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/bastion-ssh/bastion/replay"
)

// stdinTerminal returns stdin when it is a terminal.
func stdinTerminal() (*os.File, bool) {
	return os.Stdin, term.IsTerminal(int(os.Stdin.Fd()))
}

// playInteractive plays rec with the keyboard in raw mode, so that single
// keys (space, ., arrows, q) arrive at once, and restores the terminal
// after.
func playInteractive(ctx context.Context, in *os.File, out io.Writer, rec *replay.Recording, opts replay.InteractiveOptions) error {
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return err
	}
	defer term.Restore(int(in.Fd()), old)
	keys := make(chan replay.Key, 16)
	// The reader ends when stdin does; a read cannot be interrupted, so it
	// may outlive the playback by the time the process takes to exit.
	go func() {
		defer close(keys)
		buf := make([]byte, 64)
		var rest []byte
		for {
			n, err := in.Read(buf)
			if n > 0 {
				var ks []replay.Key
				ks, rest = replay.ParseKeys(append(rest, buf[:n]...))
				for _, k := range ks {
					select {
					case keys <- k:
					case <-ctx.Done():
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return replay.Interactive(ctx, out, rec, keys, opts)
}
