package evidence

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// bundleWriter writes members to a tar stream, hashing each as it goes,
// and reports progress in bytes.
type bundleWriter struct {
	tw       *tar.Writer
	modTime  time.Time
	files    []fileEntry
	seen     map[string]bool
	done     int64
	progress func(done int64)
}

func newBundleWriter(w io.Writer, modTime time.Time, progress func(int64)) *bundleWriter {
	return &bundleWriter{tw: tar.NewWriter(w), modTime: modTime, seen: map[string]bool{}, progress: progress}
}

// add writes a member of size bytes whose content write produces.
func (b *bundleWriter) add(name string, size int64, write func(io.Writer) error) error {
	if err := checkMemberName(name); err != nil {
		return err
	}
	if b.seen[name] {
		return fmt.Errorf("evidence: member %s written twice", name)
	}
	b.seen[name] = true
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: b.modTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("evidence: %s: %w", name, err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(b.tw, h)}
	if err := write(cw); err != nil {
		return fmt.Errorf("evidence: %s: %w", name, err)
	}
	if cw.n != size {
		return fmt.Errorf("evidence: %s: wrote %d bytes, expected %d (the file changed while it was read?)", name, cw.n, size)
	}
	b.files = append(b.files, fileEntry{Path: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	b.done += size
	if b.progress != nil {
		b.progress(b.done)
	}
	return nil
}

// addBytes writes a member holding data.
func (b *bundleWriter) addBytes(name string, data []byte) error {
	return b.add(name, int64(len(data)), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// addFile copies the file at path into the member name. A file that grows
// while it is copied (a recording still being written) is cut at the size
// it had when the copy began.
func (b *bundleWriter) addFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return b.add(name, st.Size(), func(w io.Writer) error {
		_, err := io.Copy(w, io.LimitReader(f, st.Size()))
		return err
	})
}

// close writes the manifest, signed, as the last member, and ends the archive.
func (b *bundleWriter) close(m bundleManifest, sign func(*bundleManifest) error) error {
	m.Files = b.files
	if err := sign(&m); err != nil {
		return err
	}
	data, err := marshalIndent(m)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: manifestName, Mode: 0o644, Size: int64(len(data)), ModTime: b.modTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := b.tw.Write(data); err != nil {
		return err
	}
	return b.tw.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
