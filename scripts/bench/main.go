package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	opt, err := optionsFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	opt.outDir = filepath.Join(root, "bench-results")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	_, err = run(ctx, opt)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "bench: interrupted; everything it started has been stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run sets everything up, runs every scenario, prints and writes the
// report, and ends every process it started, whatever happens.
func run(ctx context.Context, opt options) (*report, error) {
	start := time.Now()
	if err := preflight(); err != nil {
		return nil, err
	}
	raiseNoFile()
	e := &env{opt: opt, procs: newProcSet()}
	defer e.close() // also runs while a panic unwinds
	logf(opt.log, "setting up (%s mode, %d round(s))", mode(opt), opt.rounds)
	if err := e.setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	b := newBench(e)
	b.start = start
	// A scenario that fails still leaves what the others measured in the
	// report, which says it failed; an interrupted run leaves nothing.
	runErr := b.runAll(ctx)
	if ctx.Err() != nil {
		return nil, runErr
	}
	rep := b.report(time.Since(start))
	if runErr != nil {
		rep.Failed = runErr.Error()
	}
	rep.print(opt.stdout)
	if opt.outDir != "" {
		files, err := rep.write(opt.outDir)
		if err != nil {
			return rep, errors.Join(runErr, err)
		}
		logf(opt.log, "wrote %v", files)
	}
	return rep, runErr
}

func mode(o options) string {
	if o.quick {
		return "quick"
	}
	return "full"
}

// preflight checks what the harness cannot work without.
func preflight() error {
	if os.Getuid() != 0 {
		return errors.New("needs root: the target sshd must switch to the login user")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return fmt.Errorf("%s not found (make deps installs openssh-server)", sshdPath)
	}
	for _, tool := range []string{"ssh", "scp"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (make deps installs openssh-client)", tool)
		}
	}
	return nil
}

// raiseNoFile lifts the open-file limit to its hard maximum: hundreds of
// concurrent sessions need several descriptors each, here and in the
// bastion and sshd, which inherit the limit.
func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}
