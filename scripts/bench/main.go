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
	"strconv"
	"syscall"
	"time"
)

// options sizes one run.
type options struct {
	quick        bool
	rounds       int
	xferBytes    int64         // download, upload and scp size
	textBytes    int64         // size of the base64 text download
	keystrokes   int           // echo round trips per path and round
	seqSessions  int           // `ssh true` in a row
	parSessions  int           // `ssh true` at once
	idleSessions int           // concurrent idle interactive sessions
	certTime     time.Duration // how long to sign certificates per round
	budget       time.Duration // no new round starts if it would end after this
	outDir       string        // where the JSON goes; "" writes nothing
	keepWorkDir  bool
	stdout       io.Writer // the table
	log          io.Writer // progress
}

func fullOptions() options {
	return options{
		rounds:       5,
		xferBytes:    256 << 20,
		textBytes:    256 << 20,
		keystrokes:   500,
		seqSessions:  200,
		parSessions:  32,
		idleSessions: 500,
		certTime:     time.Second,
		budget:       9*time.Minute + 30*time.Second,
		stdout:       os.Stdout,
		log:          os.Stderr,
	}
}

func quickOptions() options {
	o := fullOptions()
	o.quick = true
	o.rounds = 1
	o.xferBytes = 16 << 20
	o.textBytes = 16 << 20
	o.keystrokes = 50
	o.seqSessions = 10
	o.parSessions = 4
	o.idleSessions = 20
	o.certTime = 300 * time.Millisecond
	o.budget = 110 * time.Second
	return o
}

// seqPerRound is how many sessions in a row each round opens per path.
func (o options) seqPerRound() int {
	return max(1, (o.seqSessions+o.rounds-1)/o.rounds)
}

func optionsFromEnv() (options, error) {
	o := fullOptions()
	if os.Getenv("BENCH_QUICK") == "1" {
		o = quickOptions()
	}
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("BENCH_ROUNDS=%q: want a positive number", v)
		}
		o.rounds = n
	}
	o.keepWorkDir = os.Getenv("BENCH_KEEP") == "1"
	return o, nil
}

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
	stop()
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
	if err := b.runAll(ctx); err != nil {
		return nil, err
	}
	rep := b.report(time.Since(start))
	rep.print(opt.stdout)
	if opt.outDir != "" {
		files, err := rep.write(opt.outDir)
		if err != nil {
			return rep, err
		}
		logf(opt.log, "wrote %v", files)
	}
	return rep, nil
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
