package shipping

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the lock file a shipper holds in the recording directory.
const lockName = ".shipping.lock"

// ErrDirInUse: another process ships from the same recording directory.
// Two shippers on one directory (two bastions given the same data
// directory) would each take the other's open recordings for ones left
// by a crash, ship them and remove them while they are being written.
var ErrDirInUse = errors.New("shipping: the recording directory is in use by another bastion")

// lockDir takes an exclusive lock on dir for as long as the returned file
// stays open (the kernel releases it when the process ends).
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("shipping: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shipping: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrDirInUse, dir)
		}
		return nil, fmt.Errorf("shipping: lock %s: %w", dir, err)
	}
	return f, nil
}
