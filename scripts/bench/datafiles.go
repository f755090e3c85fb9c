package main

import (
	"bufio"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// dataFiles writes the base64 text for the text download and the file
// scp uploads.
func (e *env) dataFiles() error {
	e.textFile = filepath.Join(e.dir, "text.b64")
	f, err := os.Create(e.textFile)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: w, width: 76})
	r := rand.NewChaCha8([32]byte{1})
	raw := make([]byte, 57*1024) // 57 bytes encode to one 76-character line
	for left := e.opt.textBytes * 57 / 77; left > 0; left -= int64(len(raw)) {
		n := min(int64(len(raw)), left)
		_, _ = r.Read(raw[:n])
		if _, err := enc.Write(raw[:n]); err != nil {
			f.Close()
			return err
		}
	}
	if err := enc.Close(); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	e.scpSrc = filepath.Join(e.dir, "scp-src.bin")
	if err := writeZeros(e.scpSrc, e.opt.xferBytes); err != nil {
		return err
	}
	e.scpDir = filepath.Join(e.dir, "scp-dst")
	return os.MkdirAll(e.scpDir, 0o755)
}

// lineWriter breaks its input into lines of width characters.
type lineWriter struct {
	w     *bufio.Writer
	width int
	col   int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if l.col == l.width {
			if err := l.w.WriteByte('\n'); err != nil {
				return 0, err
			}
			l.col = 0
		}
		if err := l.w.WriteByte(c); err != nil {
			return 0, err
		}
		l.col++
	}
	return len(p), nil
}

func writeZeros(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
