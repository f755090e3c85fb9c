package recorder

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeNew writes data to a new file at path, mode 0600, atomically: the file
// appears complete or not at all, and an existing file is never replaced.
func writeNew(path string, data []byte) error {
	return writeAtomic(path, data, func(tmp string) error {
		return os.Link(tmp, path) // unlike rename, fails if path exists
	})
}

// replaceFile atomically replaces the file at path with data, mode 0600.
func replaceFile(path string, data []byte) error {
	return writeAtomic(path, data, func(tmp string) error {
		return os.Rename(tmp, path)
	})
}

// installFile renames from to to and syncs the directory.
func installFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	return syncDir(filepath.Dir(to))
}

// writeAtomic writes data to a temporary file beside path, syncs it, puts it
// in place with install and syncs the directory.
func writeAtomic(path string, data []byte, install func(tmp string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("recorder: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = install(tmp.Name())
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("recorder: write %s: %w", path, err)
	}
	return nil
}

// syncDir flushes a directory, so that files created in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recorder: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("recorder: sync %s: %w", dir, err)
	}
	return nil
}
