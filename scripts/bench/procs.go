package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// procSet remembers every client process the harness started, so that all
// of them are ended on exit, on error and while a panic unwinds.
type procSet struct {
	mu    sync.Mutex
	procs map[int]*os.Process
}

func newProcSet() *procSet { return &procSet{procs: map[int]*os.Process{}} }

// command builds a command that is killed when ctx ends and sent SIGKILL if
// the harness itself dies without cleaning up.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// started records a process started elsewhere (pty.Start).
func (s *procSet) started(p *os.Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs[p.Pid] = p
}

// start starts cmd and records it.
func (s *procSet) start(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	s.started(cmd.Process)
	return nil
}

// wait waits for cmd and forgets it: its pid may be reused afterwards.
func (s *procSet) wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	s.mu.Lock()
	delete(s.procs, cmd.Process.Pid)
	s.mu.Unlock()
	return err
}

// run starts cmd, waits for it and returns an error that carries its
// stderr when it fails.
func (s *procSet) run(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	if err := s.start(cmd); err != nil {
		return err
	}
	if err := s.wait(cmd); err != nil {
		return fmt.Errorf("%s: %v: %s", cmd.Args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// killAll ends every recorded process that is still running.
func (s *procSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, p := range s.procs {
		_ = p.Kill()
		delete(s.procs, pid)
	}
}
