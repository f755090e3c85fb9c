package server

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// Names of entries served masked are masked in directory listings too; other
// entries keep their names.
func TestSFTPGateMasksNamesInListings(t *testing.T) {
	f := startGate(t, 1<<30)
	for _, name := range []string{"names/123-45-6789.csv", "names/notes-123-45-6789.txt"} {
		p := f.path(name)
		if err := os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fis, err := f.c.ReadDir(f.path("names"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range fis {
		names = append(names, fi.Name())
	}
	sort.Strings(names)
	want := []string{"***-**-****.csv", "notes-123-45-6789.txt"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("listing %q, want %q", names, want)
	}
}
