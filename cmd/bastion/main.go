// Command bastion is an SSH gateway for hosts that hold protected health
// information: short-lived certificates, recorded sessions, audited
// decisions. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr *os.File) int {
	if err == nil {
		return 0
	}
	if s, ok := err.(interface{ silent() bool }); !ok || !s.silent() {
		fmt.Fprintln(stderr, "bastion:", err)
	}
	if e, ok := err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	return 1
}
