package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target for a serving bastion,
// unless GOGC is set. Its live heap is small (tens of KiB per session)
// while x/crypto/ssh allocates every packet it reads anew, so at Go's
// default of 100 the collector runs every few MiB of proxied traffic.
// Measured with `make bench`: uploads gain about 7% and 500 idle sessions
// cost 13% more memory (0.22 instead of 0.19 MiB each).
const serveGCPercent = 400

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}
