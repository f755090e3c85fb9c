//go:build !linux

package recorder

import (
	"os"
	"syscall"
	"testing"
)

func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Skip("pseudo-terminal setup is implemented for Linux only")
	return nil, nil
}

func ttySysProcAttr() *syscall.SysProcAttr { return nil }
