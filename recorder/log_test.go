package recorder

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func logRecords(n int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `{"session_id":"s%d","chain":"%064x"}`, i, i)
	}
	return recs
}

// newTestLog returns a log in a new directory holding n records.
func newTestLog(t *testing.T, n int) (*Log, string, [][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	l, err := OpenLog(dir, testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	recs := logRecords(n)
	for i, r := range recs {
		idx, err := l.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		if idx != int64(i) {
			t.Fatalf("Append #%d returned index %d", i, idx)
		}
	}
	return l, dir, recs
}

func TestLogAppendAndProve(t *testing.T) {
	l, dir, recs := newTestLog(t, 13)
	size, root := l.Root()
	if size != 13 {
		t.Fatalf("Root size = %d", size)
	}
	tree, err := VerifyHead(l.SignedHead(), testPub)
	if err != nil || tree.N != size || tree.Hash != root {
		t.Fatalf("VerifyHead = %+v, %v; want %d %v", tree, err, size, root)
	}
	if _, err := VerifyHead(l.SignedHead(), otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyHead with another key: %v, want ErrBadSignature", err)
	}
	for i, r := range recs {
		p, err := l.ProveInclusion(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if p.Root != tree.Hash || p.Size != tree.N {
			t.Fatalf("proof %d is for %d %v", i, p.Size, p.Root)
		}
		if err := p.Verify(r); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
		if err := p.Verify(recs[(i+1)%len(recs)]); !errors.Is(err, ErrLogMismatch) {
			t.Errorf("record %d proof accepted another record: %v", i, err)
		}
	}
	if _, err := l.ProveInclusion(13); err == nil {
		t.Error("ProveInclusion past the end succeeded")
	}

	// An older head stays consistent with the new tree.
	old, oldRoot := int64(5), tlog.Hash{}
	{
		l2, _, _ := newTestLog(t, 5)
		_, oldRoot = l2.Root()
	}
	proof, err := l.ProveConsistency(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, size, root, old, oldRoot); err != nil {
		t.Errorf("consistency proof: %v", err)
	}

	if got, err := VerifyLog(dir, testPub); err != nil || got != tree {
		t.Fatalf("VerifyLog = %+v, %v", got, err)
	}

	// Reopen and continue.
	l.Close()
	l, err = OpenLog(dir, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, r := l.Root(); n != size || r != root {
		t.Fatalf("reopened log: %d %v, want %d %v", n, r, size, root)
	}
	if idx, err := l.Append([]byte("next")); err != nil || idx != 13 {
		t.Fatalf("Append after reopen = %d, %v", idx, err)
	}
	if _, err := VerifyLog(dir, testPub); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("two\nlines")} {
		if _, err := l.Append(bad); err == nil {
			t.Errorf("Append(%q) succeeded", bad)
		}
	}
}

func TestLogTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, recs [][]byte)
		want   error
	}{
		{"remove-middle-record", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logRecordsFile), func(b []byte) []byte {
				return bytes.Replace(b, append(recs[3], '\n'), nil, 1)
			})
		}, ErrLogMismatch},
		{"remove-last-record", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logRecordsFile), func(b []byte) []byte {
				return bytes.TrimSuffix(b, append(recs[len(recs)-1], '\n'))
			})
		}, ErrLogMismatch},
		{"alter-record", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logRecordsFile), func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"s2"`), []byte(`"sX"`), 1)
			})
		}, ErrLogMismatch},
		{"reorder-records", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logRecordsFile), func(b []byte) []byte {
				b = bytes.Replace(b, recs[1], []byte("TMP"), 1)
				b = bytes.Replace(b, recs[2], recs[1], 1)
				return bytes.Replace(b, []byte("TMP"), recs[2], 1)
			})
		}, ErrLogMismatch},
		{"add-record", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logRecordsFile), func(b []byte) []byte { return append(b, "forged\n"...) })
		}, ErrLogMismatch},
		{"delete-head", func(t *testing.T, dir string, recs [][]byte) {
			os.Remove(filepath.Join(dir, logHeadFile))
		}, ErrLogMismatch},
		{"alter-head", func(t *testing.T, dir string, recs [][]byte) {
			rewrite(t, filepath.Join(dir, logHeadFile), func(b []byte) []byte {
				return bytes.Replace(b, []byte("\n8\n"), []byte("\n7\n"), 1)
			})
		}, ErrBadSignature},
		{"head-by-other-key", func(t *testing.T, dir string, recs [][]byte) {
			other := filepath.Join(t.TempDir(), "other")
			l, err := OpenLog(other, otherKey)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			copyFile(t, filepath.Join(other, logHeadFile), filepath.Join(dir, logHeadFile))
		}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir, recs := newTestLog(t, 8)
			l.Close()
			tt.tamper(t, dir, recs)
			if _, err := VerifyLog(dir, testPub); !errors.Is(err, tt.want) {
				t.Errorf("VerifyLog: %v, want %v", err, tt.want)
			}
			// The writer refuses to sign over a tampered log.
			if l, err := OpenLog(dir, testKey); !errors.Is(err, tt.want) {
				if err == nil {
					l.Close()
				}
				t.Errorf("OpenLog: %v, want %v", err, tt.want)
			}
		})
	}
}

// logFiles reads the files of a log directory.
func logFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{logRecordsFile, logHashesFile, logHeadFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files
}

// TestLogCrashRecovery rebuilds the states a crash can leave in the middle
// of an Append, from the files before and after it.
func TestLogCrashRecovery(t *testing.T) {
	l, dir, _ := newTestLog(t, 4)
	before := logFiles(t, dir)
	if _, err := l.Append([]byte("fifth")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	after := logFiles(t, dir)
	other, err := OpenLog(filepath.Join(t.TempDir(), "other"), otherKey)
	if err != nil {
		t.Fatal(err)
	}
	otherHead := other.SignedHead()
	other.Close()

	tests := []struct {
		name    string
		records []byte
		hashes  []byte
		next    []byte // nil: no head.next
		want    int64  // records after OpenLog; -1: OpenLog fails
	}{
		{"after-next", before[logRecordsFile], before[logHashesFile], after[logHeadFile], 4},
		{"during-record", append(bytes.Clone(before[logRecordsFile]), "fif"...), before[logHashesFile], after[logHeadFile], 4},
		{"after-record", after[logRecordsFile], before[logHashesFile], after[logHeadFile], 5},
		{"after-hashes", after[logRecordsFile], after[logHashesFile], after[logHeadFile], 5},
		{"record-without-next", after[logRecordsFile], after[logHashesFile], nil, -1},
		{"next-by-other-key", after[logRecordsFile], after[logHashesFile], otherHead, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string][]byte{
				logRecordsFile: tt.records, logHashesFile: tt.hashes, logHeadFile: before[logHeadFile], logNextFile: tt.next,
			} {
				if data != nil {
					if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			l, err := OpenLog(dir, testKey)
			if tt.want < 0 {
				if err == nil {
					l.Close()
					t.Fatal("OpenLog accepted the log")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if n, _ := l.Root(); n != tt.want {
				t.Fatalf("%d records after recovery, want %d", n, tt.want)
			}
			if tt.want == 5 && !bytes.Equal(logFiles(t, dir)[logHashesFile], after[logHashesFile]) {
				t.Error("hashes not repaired")
			}
			if _, err := os.Stat(filepath.Join(dir, logNextFile)); err == nil {
				t.Error("head.next left behind")
			}
			if _, err := l.Append([]byte("sixth")); err != nil {
				t.Fatal(err)
			}
			if tree, err := VerifyLog(dir, testPub); err != nil || tree.N != tt.want+1 {
				t.Errorf("VerifyLog = %+v, %v", tree, err)
			}
		})
	}
}

func TestLogRequiresSigner(t *testing.T) {
	if _, err := OpenLog(t.TempDir(), nil); err == nil {
		t.Error("OpenLog without a signer succeeded")
	}
	if _, err := OpenLog(t.TempDir(), fakeSigner{}); err == nil {
		t.Error("OpenLog with a non-Ed25519 signer succeeded")
	}
}
