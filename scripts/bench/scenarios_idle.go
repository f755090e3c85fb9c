package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// idleStartParallel bounds how many sessions are being opened at once.
const idleStartParallel = 16

// idleScenario holds N interactive sessions open and measures the memory
// they cost: the bastion's RSS growth, and for reference sshd's PSS. The
// bastion goes first, right after start-up, so that its heap has not yet
// been grown (and kept) by the throughput scenarios.
func (b *bench) idleScenario(ctx context.Context) error {
	for _, s := range []side{viaBastion, direct} {
		n := b.opt.idleSessions
		if s == direct {
			n = b.opt.idleReference()
		}
		if err := b.quiesce(ctx, 60*time.Second); err != nil {
			return err
		}
		base, err := b.memory(s)
		if err != nil {
			return err
		}
		t0 := time.Now()
		sessions, err := b.openIdle(ctx, s, n)
		if err == nil {
			err = sleep(ctx, time.Second) // let the last sessions' buffers settle
		}
		var mem int64
		if err == nil {
			mem, err = b.memory(s)
		}
		opened := time.Since(t0)
		stopIdle(b.e.procs, sessions)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		if qerr := b.quiesce(ctx, 3*time.Minute); qerr != nil {
			return qerr
		}
		per := float64(mem-base) / float64(n) / (1 << 20)
		b.res.add("idle.per_session", s, per)
		b.res.add("idle.total", s, float64(mem-base)/(1<<20))
		logf(b.opt.log, "%-40s %-7s %d sessions open in %.1fs: %.1f MiB total, %.3f MiB/session",
			"idle sessions", s, n, opened.Seconds(), float64(mem-base)/(1<<20), per)
	}
	return nil
}

// memory is what the server side of a path holds: the bastion's resident
// set, or the summed PSS of sshd's per-connection processes.
func (b *bench) memory(s side) (int64, error) {
	if s == viaBastion {
		return statusBytes(b.e.bastion.pid, "VmRSS")
	}
	var sum int64
	for _, p := range descendants(b.e.sshd.pid) {
		if !strings.HasPrefix(p.comm, "sshd") {
			continue // the shell and sleep run on both paths alike
		}
		if v, err := pssBytes(p.pid); err == nil {
			sum += v
		}
	}
	return sum, nil
}

type idleSession struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// openIdle opens n sessions and returns once each has printed "ready",
// that is once it is open all the way to a shell on the target.
func (b *bench) openIdle(ctx context.Context, s side, n int) ([]*idleSession, error) {
	var (
		mu       sync.Mutex
		sessions []*idleSession
		errs     []error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, idleStartParallel)
	for range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			is, err := b.openOneIdle(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if is != nil {
				sessions = append(sessions, is)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(ctx.Err(), errors.Join(errs...)); err != nil {
		return sessions, fmt.Errorf("%d of %d sessions failed: %w", len(errs), n, errs[0])
	}
	return sessions, nil
}

func (b *bench) openOneIdle(ctx context.Context, s side) (*idleSession, error) {
	cmd := command(ctx, "ssh", b.e.sshArgs(s, ciphers[0], []string{"-tt"}, "echo ready; exec sleep 600")...)
	stdin, err := cmd.StdinPipe() // held open: the session stays interactive
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := b.e.procs.start(cmd); err != nil {
		return nil, err
	}
	is := &idleSession{cmd: cmd, stdin: stdin}
	ready := make(chan error, 1)
	go func() {
		var seen []byte
		buf := make([]byte, 256)
		for {
			k, err := stdout.Read(buf)
			seen = append(seen, buf[:k]...)
			if bytes.Contains(seen, []byte("ready")) {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
			if err != nil {
				ready <- fmt.Errorf("session ended before it was ready: %v", err)
				return
			}
		}
	}()
	select {
	case err = <-ready:
	case <-time.After(2 * time.Minute):
		err = errors.New("session not ready after 2 minutes")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = b.e.procs.wait(cmd)
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return is, nil
}

// stopIdle hangs up every session and waits for the clients to exit.
func stopIdle(procs *procSet, sessions []*idleSession) {
	for _, is := range sessions {
		is.stdin.Close()
		_ = is.cmd.Process.Signal(syscall.SIGTERM)
	}
	var wg sync.WaitGroup
	for _, is := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.AfterFunc(10*time.Second, func() { _ = is.cmd.Process.Kill() })
			defer t.Stop()
			_ = procs.wait(is.cmd)
		}()
	}
	wg.Wait()
}
