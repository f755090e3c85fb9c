package bytescan

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// guarded returns a page of memory between two pages that fault when
// touched, so a read before or past the slices cut from its ends crashes
// the test instead of passing unseen.
func guarded(t *testing.T) []byte {
	t.Helper()
	size := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*size, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	page := mem[size : 2*size]
	if err := syscall.Mprotect(page, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return page
}

// The vector code reads nothing outside the slice: slices that start at
// the first byte of a page after an unreadable one, or end at the last
// byte before one, of every length up to 300, with no trigger (so that
// every block is read) and with one at the end, walked from their start
// by IndexTrigger and by a Cursor.
func TestNothingReadOutsideTheSlice(t *testing.T) {
	page := guarded(t)
	rng := rand.New(rand.NewPCG(11, 12))
	cls, after := randomTables(rng, 16)
	c := NewClasses(cls, after)
	q := quiet(cls)
	eachImpl(t, func(t *testing.T) {
		for n := 0; n <= 300; n++ {
			for _, b := range [][]byte{page[:n], page[len(page)-n:]} {
				for i := range b {
					b[i] = q
				}
				checkTrigger(t, c, cls, after, b, q, "quiet")
				if n > 0 {
					b[n-1] = byte(rng.Uint32())
					checkTrigger(t, c, cls, after, b, q, "last")
					// A Cursor's first block, which starts at b[0].
					cur := c.Cursor(b, q)
					if got, want := cur.Next(0), indexTriggerDef(cls, after, b, q); got != want {
						t.Fatalf("Cursor over %d bytes: Next(0) = %d, want %d", n, got, want)
					}
				}
				for i := range b {
					b[i] = 'a'
				}
				if got := IndexUnplainJSON(b); got != n {
					t.Fatalf("IndexUnplainJSON of %d plain bytes = %d", n, got)
				}
			}
		}
	})
}
