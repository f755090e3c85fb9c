package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// The ciphers the throughput scenarios pin; the others use the first.
var ciphers = []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"}

// bench runs the scenarios and collects their samples.
type bench struct {
	e   *env
	opt options
	res *results
	seq int // makes every remote command line unique

	start    time.Time       // of the run, for the time budget
	profiled map[string]bool // metrics already profiled (BENCH_PROFILE)
	rounds   int             // rounds completed
	features []string        // what the probes found
}

func newBench(e *env) *bench {
	return &bench{e: e, opt: e.opt, res: newResults(), profiled: map[string]bool{}}
}

// results holds one sample per round for each metric and side.
type results struct {
	samples map[string]map[string][]float64 // metric → side → per round
	notes   []string
}

func newResults() *results { return &results{samples: map[string]map[string][]float64{}} }

func (r *results) add(metric string, s side, v float64) {
	m := r.samples[metric]
	if m == nil {
		m = map[string][]float64{}
		r.samples[metric] = m
	}
	m[s.String()] = append(m[s.String()], v)
}

func (r *results) median(metric string, s side) (float64, bool) {
	v := r.samples[metric][s.String()]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func (r *results) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(r.notes, n) {
		r.notes = append(r.notes, n)
	}
}

// runAll runs every scenario: idle sessions once, on a fresh bastion, the
// others once per round, alternating which path goes first.
func (b *bench) runAll(ctx context.Context) error {
	for _, s := range transferSides { // warm-up: page cache, first handshakes
		if _, err := b.sshTrue(ctx, s); err != nil {
			return fmt.Errorf("warm-up %s: %w", s, err)
		}
	}
	if err := b.probeFeatures(ctx); err != nil {
		return err
	}
	if b.runs("idle") {
		if err := b.idleScenario(ctx); err != nil {
			return fmt.Errorf("idle sessions: %w", err)
		}
	}
	var longest time.Duration
	for round := 0; round < b.opt.rounds; round++ {
		if round > 0 && time.Since(b.start)+longest > b.opt.budget {
			b.res.note("stopped after %d of %d rounds to stay within the %s time budget (slowest round took %s)",
				round, b.opt.rounds, b.opt.budget, longest.Round(time.Second))
			logf(b.opt.log, "time budget: stopping after %d round(s)", round)
			break
		}
		roundStart := time.Now()
		order, xferOrder := slices.Clone(sides), rotate(transferSides, round)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		logf(b.opt.log, "round %d/%d (%s first; transfers %s first)", round+1, b.opt.rounds, order[0], xferOrder[0])
		for _, st := range b.steps() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !b.runs(st.name) {
				continue
			}
			o := order
			if st.transfer {
				o = xferOrder
			}
			if err := st.run(ctx, o); err != nil {
				return fmt.Errorf("round %d: %s: %w", round+1, st.name, err)
			}
		}
		b.rounds++
		longest = max(longest, time.Since(roundStart))
	}
	// The cluster runs last, outside the rounds' time budget, which it
	// would otherwise take from them.
	if b.opt.clusterSessions > 0 && b.runs("cluster") {
		if err := b.clusterScenario(ctx); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// stepNames are the scenarios BENCH_ONLY picks among: idle sessions
// once, then the others in this order every round, then the cluster once.
var stepNames = []string{"idle", "download", "upload", "scp", "keystroke", "setup", "certificates", "cluster"}

// runs says whether BENCH_ONLY leaves the named scenario in.
func (b *bench) runs(name string) bool {
	return len(b.opt.only) == 0 || slices.Contains(b.opt.only, name)
}

type step struct {
	name     string
	run      func(context.Context, []side) error
	transfer bool // also through the jump host
}

func (b *bench) steps() []step {
	return []step{
		{"download", b.downloadScenario, true},
		{"upload", b.uploadScenario, true},
		{"scp", b.scpScenario, true},
		{"keystroke", b.keystrokeScenario, false},
		{"setup", b.setupScenario, false},
		{"certificates", b.certScenario, false},
	}
}

// rotate returns sides started at round modulo their number, so that each
// path goes first in turn.
func rotate(s []side, round int) []side {
	k := round % len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}

// quiesce waits until no connection is left on the target and the jump
// host (each sshd listener has reaped every per-connection process, so its
// cutime/cstime are complete) and the bastion's CPU counter has stopped
// moving.
func (b *bench) quiesce(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for hasChildren(b.e.sshd.pid) || hasChildren(b.e.jump.pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("target or jump host still has sessions after %s", timeout)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	prev, err := readStat(b.e.bastion.pid)
	if err != nil {
		return fmt.Errorf("bastion: %w", err)
	}
	for range 40 {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		cur, err := readStat(b.e.bastion.pid)
		if err != nil {
			return fmt.Errorf("bastion: %w", err)
		}
		if cur.self() == prev.self() {
			return nil
		}
		prev = cur
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// serverCPU is the CPU time the server side of a path has used so far:
// the bastion process, or an sshd listener (the target's on the direct
// path, the jump host's on the jump path) with every descendant it reaped.
func (b *bench) serverCPU(s side) (time.Duration, error) {
	switch s {
	case viaBastion:
		st, err := readStat(b.e.bastion.pid)
		return st.self(), err
	case viaJump:
		st, err := readStat(b.e.jump.pid)
		return st.total(), err
	}
	st, err := readStat(b.e.sshd.pid)
	return st.total(), err
}

// tag makes a remote command line unique, so that its session row can be
// found: a shell comment, which changes nothing on the target.
func (b *bench) tag(cmd string) string {
	b.seq++
	return fmt.Sprintf("%s # bench-%d", cmd, b.seq)
}

// sessionRow is the part of `bastion sessions list --json` used here.
type sessionRow struct {
	ID         string     `json:"id"`
	Command    string     `json:"command"`
	Recording  string     `json:"recording"`
	EndedAt    *time.Time `json:"ended_at"`
	ExitStatus *int       `json:"exit_status"`
	Node       string     `json:"node"`
}

// recording waits until the bastion has ended the session that ran
// cmdline and returns the path of its recording.
func (b *bench) recording(ctx context.Context, cmdline string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := command(ctx, b.e.bin, "sessions", "list", "--json", "--limit", "20", "--data", b.e.dataDir).Output()
		if err != nil {
			return "", fmt.Errorf("bastion sessions list: %w", err)
		}
		var rows []sessionRow
		if err := json.Unmarshal(out, &rows); err != nil {
			return "", fmt.Errorf("bastion sessions list: %w", err)
		}
		for _, r := range rows {
			if r.Command == cmdline && r.EndedAt != nil {
				return r.Recording, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no ended session for %q", cmdline)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// recordingSize returns the size of a finished recording and deletes it:
// large downloads would otherwise fill the disk over the rounds.
func (b *bench) recordingSize(ctx context.Context, cmdline string) (int64, error) {
	path, err := b.recording(ctx, cmdline)
	if err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	_ = os.Remove(path)
	return st.Size(), nil
}
