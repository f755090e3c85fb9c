package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options sizes one run.
type options struct {
	quick        bool
	rounds       int
	xferBytes    int64         // download, upload and scp size
	textBytes    int64         // size of the base64 text download
	keystrokes   int           // echo round trips per path and round
	seqSessions  int           // `ssh true` in a row
	parSessions  int           // `ssh true` at once
	idleSessions int           // concurrent idle interactive sessions
	certTime     time.Duration // how long to sign certificates per round
	certClients  int           // concurrent HTTPS clients of the certificate API
	certRequests int           // certificates requested over HTTPS per round
	budget       time.Duration // no new round starts if it would end after this
	outDir       string        // where the JSON goes; "" writes nothing
	keepWorkDir  bool
	profile      bool      // BENCH_PROFILE=1: CPU profiles of the bastion during transfers
	only         []string  // BENCH_ONLY: run only these steps (e.g. download,upload)
	stdout       io.Writer // the table
	log          io.Writer // progress

	// clusterSessions is how many sessions the cluster scenario holds
	// open at once across its two nodes; 0 skips it.
	clusterSessions int
}

func fullOptions() options {
	return options{
		rounds:       5,
		xferBytes:    256 << 20,
		textBytes:    256 << 20,
		keystrokes:   500,
		seqSessions:  200,
		parSessions:  32,
		idleSessions: 500,
		certTime:     time.Second,
		certClients:  8,
		certRequests: 2000,
		budget:       9 * time.Minute,
		stdout:       os.Stdout,
		log:          os.Stderr,

		clusterSessions: 500,
	}
}

func quickOptions() options {
	o := fullOptions()
	o.quick = true
	o.rounds = 1
	o.xferBytes = 16 << 20
	o.textBytes = 16 << 20
	o.keystrokes = 50
	o.seqSessions = 10
	o.parSessions = 4
	o.idleSessions = 20
	o.clusterSessions = 0 // it starts PostgreSQL and an S3 server: only when asked (BENCH_ONLY)
	o.certTime = 300 * time.Millisecond
	o.certRequests = 200
	o.budget = 110 * time.Second
	return o
}

// quickClusterSessions is the cluster's size in quick mode, when BENCH_ONLY
// asks for it.
const quickClusterSessions = 20

// clusterTimeout bounds the cluster scenario, start-up and checks
// included: generous, so that only a stall or a leak trips it.
func (o options) clusterTimeout() time.Duration {
	return 3*time.Minute + time.Duration(o.clusterSessions)*time.Second
}

// idleReference is how many idle sessions the direct path holds: sshd's
// memory per session is only a reference, and each session costs a full
// handshake, so a sample of at most 100 is enough.
func (o options) idleReference() int { return min(o.idleSessions, 100) }

// seqPerRound is how many sessions in a row each round opens per path.
func (o options) seqPerRound() int {
	return max(1, (o.seqSessions+o.rounds-1)/o.rounds)
}

func optionsFromEnv() (options, error) {
	o := fullOptions()
	if os.Getenv("BENCH_QUICK") == "1" {
		o = quickOptions()
	}
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("BENCH_ROUNDS=%q: want a positive number", v)
		}
		o.rounds = n
	}
	if v := os.Getenv("BENCH_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("BENCH_MIB=%q: want a positive number of MiB", v)
		}
		o.xferBytes, o.textBytes = int64(n)<<20, int64(n)<<20
	}
	o.keepWorkDir = os.Getenv("BENCH_KEEP") == "1"
	o.profile = os.Getenv("BENCH_PROFILE") == "1"
	if v := os.Getenv("BENCH_ONLY"); v != "" {
		o.only = strings.Split(v, ",")
		for _, name := range o.only {
			if !slices.Contains(stepNames, name) {
				return o, fmt.Errorf("BENCH_ONLY: unknown step %q (want some of %s)", name, strings.Join(stepNames, ","))
			}
		}
		if o.quick && slices.Contains(o.only, "cluster") {
			o.clusterSessions = quickClusterSessions
		}
	}
	if v := os.Getenv("BENCH_CLUSTER_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("BENCH_CLUSTER_SESSIONS=%q: want a number of sessions (0 skips the cluster)", v)
		}
		o.clusterSessions = n
	}
	return o, nil
}
