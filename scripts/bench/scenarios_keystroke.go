package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// keystrokeScenario types single bytes into `cat` on a remote pty and
// times each echo.
func (b *bench) keystrokeScenario(ctx context.Context, order []side) error {
	for _, s := range order {
		rtts, err := b.keystrokes(ctx, s, b.opt.keystrokes)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		p50, p99 := percentile(rtts, 50), percentile(rtts, 99)
		b.res.add("keystroke.p50", s, ms(p50))
		b.res.add("keystroke.p99", s, ms(p99))
		logf(b.opt.log, "%-40s %-7s p50 %.3f ms  p99 %.3f ms", "keystroke echo", s, ms(p50), ms(p99))
	}
	return nil
}

// keystrokes runs `ssh -tt` under a local pty, like a terminal would, with
// the remote pty in raw mode running cat; each byte written to the local
// pty comes back once it has gone to the target and back.
func (b *bench) keystrokes(ctx context.Context, s side, n int) ([]time.Duration, error) {
	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	cmd := command(ctx, "ssh", b.e.sshArgs(s, ciphers[0], []string{"-tt"}, b.tag("stty raw -echo; echo READY; exec cat"))...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		return nil, err
	}
	b.e.procs.started(cmd.Process)
	defer func() {
		// ssh keeps its session open when its terminal hangs up; end it.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		f.Close()
		t := time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
		_ = b.e.procs.wait(cmd)
		t.Stop()
	}()

	chunks, stop := make(chan []byte, 64), make(chan struct{})
	defer close(stop)
	go readChunks(f, chunks, stop)
	var seen []byte
	if err := waitFor(ctx, chunks, func(p []byte) bool {
		seen = append(seen, p...)
		return bytes.Contains(seen, []byte("READY"))
	}); err != nil {
		return nil, fmt.Errorf("waiting for the remote cat: %w (output %q)", err, seen)
	}
	const warmup = 10
	rtts := make([]time.Duration, 0, n)
	for i := range n + warmup {
		key := byte('a' + i%26)
		t0 := time.Now()
		if _, err := f.Write([]byte{key}); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, chunks, func(p []byte) bool { return bytes.IndexByte(p, key) >= 0 }); err != nil {
			return nil, fmt.Errorf("echo %d: %w", i, err)
		}
		if i >= warmup {
			rtts = append(rtts, time.Since(t0))
		}
	}
	return rtts, nil
}

// readChunks sends what ssh writes to the terminal until it ends or stop
// is closed.
func readChunks(f *os.File, out chan<- []byte, stop <-chan struct{}) {
	defer close(out)
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			select {
			case out <- append([]byte(nil), buf[:n]...):
			case <-stop:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitFor consumes chunks until done returns true, with a deadline.
func waitFor(ctx context.Context, chunks <-chan []byte, done func([]byte) bool) error {
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case p, ok := <-chunks:
			if !ok {
				return fmt.Errorf("ssh closed the terminal")
			}
			if done(p) {
				return nil
			}
		case <-timeout.C:
			return fmt.Errorf("timed out")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
