package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// goalKind says how a row's goal is checked.
type goalKind int

const (
	noGoal       goalKind = iota
	atLeastRatio          // bastion ≥ limit × direct
	atMostRatio           // bastion ≤ limit × direct
	atMostAdded           // bastion − direct ≤ limit
	atMostAbs             // bastion ≤ limit
	atLeastAbs            // bastion ≥ limit
)

// rowSpec is one line of the table.
type rowSpec struct {
	scenario    string
	unit        string
	metric      string
	goal        goalKind
	limit       float64
	format      string // for the values
	bastionOnly bool   // nothing to compare on the direct path
	jump        bool   // measured through the jump host too
	na          string // not measurable yet: printed instead of numbers
	note        string
}

func rowSpecs(o options) []rowSpec {
	var specs []rowSpec
	for _, c := range ciphers {
		cn := cipherName(c)
		specs = append(specs,
			rowSpec{scenario: "download /dev/zero " + cn, unit: "MB/s", metric: "download.zero." + cn + ".MBps", goal: atLeastRatio, limit: 0.8, format: "%.1f", jump: true},
			rowSpec{scenario: "  server CPU per GiB " + cn, unit: "s/GiB", metric: "download.zero." + cn + ".cpu", goal: atMostRatio, limit: 1.0, format: "%.3f", jump: true,
				note: "the middle box: bastion process, jump host's sshd processes; direct: the target's sshd processes net of the remote command"})
	}
	cn := cipherName(ciphers[0])
	specs = append(specs,
		rowSpec{scenario: "download base64 text " + cn, unit: "MB/s", metric: "download.text." + cn + ".MBps", goal: atLeastRatio, limit: 0.8, format: "%.1f", jump: true},
		rowSpec{scenario: "  server CPU per GiB " + cn, unit: "s/GiB", metric: "download.text." + cn + ".cpu", goal: atMostRatio, limit: 1.0, format: "%.3f", jump: true})
	for _, c := range ciphers {
		specs = append(specs,
			rowSpec{scenario: "upload (pipe to cat) " + cipherName(c), unit: "MB/s", metric: "upload." + cipherName(c) + ".MBps", goal: atLeastRatio, limit: 0.8, format: "%.1f", jump: true},
			rowSpec{scenario: "  server CPU per GiB " + cipherName(c), unit: "s/GiB", metric: "upload." + cipherName(c) + ".cpu", format: "%.3f", jump: true})
	}
	for _, c := range ciphers {
		specs = append(specs, rowSpec{scenario: "scp upload " + cipherName(c), unit: "MB/s", metric: "scp." + cipherName(c) + ".MBps", goal: atLeastRatio, limit: 0.8, format: "%.1f", jump: true,
			note: "whole command, connection set-up included (two handshakes through the jump host)"})
	}
	seq, par := fmt.Sprintf("%d in a row", o.seqPerRound()), fmt.Sprintf("%d at once", o.parSessions)
	specs = append(specs,
		rowSpec{scenario: "keystroke echo p50", unit: "ms", metric: "keystroke.p50", goal: atMostAdded, limit: 0.3, format: "%.3f"},
		rowSpec{scenario: "keystroke echo p99", unit: "ms", metric: "keystroke.p99", goal: atMostAdded, limit: 1.0, format: "%.3f"},
		rowSpec{scenario: "session setup, " + seq, unit: "sessions/s", metric: "setup.seq.rate", goal: atLeastRatio, limit: 0.8, format: "%.1f"},
		rowSpec{scenario: "  latency p50", unit: "ms", metric: "setup.seq.p50", format: "%.1f"},
		rowSpec{scenario: "  latency p99", unit: "ms", metric: "setup.seq.p99", format: "%.1f"},
		rowSpec{scenario: "session setup, " + par, unit: "sessions/s", metric: "setup.par.rate", goal: atLeastRatio, limit: 0.8, format: "%.1f"},
		rowSpec{scenario: "  latency p50", unit: "ms", metric: "setup.par.p50", format: "%.1f"},
		rowSpec{scenario: "  latency p99", unit: "ms", metric: "setup.par.p99", format: "%.1f"},
		rowSpec{scenario: fmt.Sprintf("idle sessions (%d), memory per session", o.idleSessions), unit: "MiB", metric: "idle.per_session", goal: atMostAbs, limit: 1.0, format: "%.3f",
			note: fmt.Sprintf("bastion: VmRSS growth; direct: PSS of sshd's per-connection processes, over %d sessions", o.idleReference())},
		rowSpec{scenario: "  bastion memory total", unit: "MiB", metric: "idle.total", format: "%.1f", bastionOnly: true},
		rowSpec{scenario: "recording, base64 text download", unit: "bytes/byte", metric: "recording.text", goal: atMostAbs, limit: 1.2, format: "%.3f", bastionOnly: true},
		rowSpec{scenario: "recording, /dev/zero download", unit: "bytes/byte", metric: "recording.zero", format: "%.3f", bastionOnly: true,
			note: `each NUL is written as \u0000 (6 bytes) in the JSON event: the worst case, not typical output`},
		rowSpec{scenario: "certificate issuance, in-process, 1 core", unit: "certs/s", metric: "certs.inprocess", goal: atLeastAbs, limit: 5000, format: "%.0f", bastionOnly: true},
		rowSpec{scenario: fmt.Sprintf("certificate issuance, HTTP API, %d clients", o.certClients), unit: "certs/s", metric: "certs.http",
			goal: atLeastAbs, limit: 1000, format: "%.0f", bastionOnly: true,
			note: fmt.Sprintf("POST /v1/certificate with a JWT access token over HTTPS keep-alive connections, %d requests per round; the clients run on the same machine", o.certRequests)},
	)
	return append(specs, clusterRowSpecs(o)...)
}

// clusterRowSpecs are the cluster scenario's rows, when it runs.
func clusterRowSpecs(o options) []rowSpec {
	if o.clusterSessions == 0 {
		return nil
	}
	return []rowSpec{
		{scenario: fmt.Sprintf("cluster (2 nodes, %d sessions), memory per session", o.clusterSessions), unit: "MiB", metric: "cluster.per_session",
			goal: atMostAbs, limit: 1.0, format: "%.3f", bastionOnly: true,
			note: "VmRSS growth of both nodes with every session open, over the sessions; one PostgreSQL, one S3 bucket, recording on"},
		{scenario: "  nodes' memory total", unit: "MiB", metric: "cluster.total_memory", format: "%.1f", bastionOnly: true},
		{scenario: fmt.Sprintf("  setup rate, %d opening at a time", idleStartParallel), unit: "sessions/s", metric: "cluster.setup.rate", format: "%.1f", bastionOnly: true},
		{scenario: "  latency p50", unit: "ms", metric: "cluster.setup.p50", format: "%.1f", bastionOnly: true},
		{scenario: "  latency p99", unit: "ms", metric: "cluster.setup.p99", format: "%.1f", bastionOnly: true},
		{scenario: "  all recordings in the bucket after", unit: "s", metric: "cluster.ship", format: "%.1f", bastionOnly: true,
			note: "from the last session's end until no recording file is left on either node (a node removes its copy once every file is verified in the bucket)"},
		{scenario: "  whole scenario", unit: "s", metric: "cluster.total", format: "%.0f", bastionOnly: true,
			note: "starting PostgreSQL, the S3 server and both nodes, the sessions, and every check (rows, shipping, verify --all, each recording read back from the bucket)"},
	}
}

func (g rowSpec) goalText() string {
	switch g.goal {
	case atLeastRatio:
		return fmt.Sprintf("≥%.1f× direct", g.limit)
	case atMostRatio:
		return fmt.Sprintf("≤%.1f× direct", g.limit)
	case atMostAdded:
		return fmt.Sprintf("≤ +%g %s", g.limit, g.unit)
	case atMostAbs:
		return fmt.Sprintf("≤%g %s", g.limit, g.unit)
	case atLeastAbs:
		return fmt.Sprintf("≥%g %s", g.limit, g.unit)
	}
	return ""
}

// row is one line of the results, as printed and as written to JSON.
type row struct {
	Scenario  string   `json:"scenario"`
	Unit      string   `json:"unit"`
	Metric    string   `json:"metric,omitempty"`
	Direct    *float64 `json:"direct"`
	Jump      *float64 `json:"jump,omitempty"` // through the OpenSSH jump host
	Bastion   *float64 `json:"bastion"`
	Ratio     *float64 `json:"ratio,omitempty"`      // bastion / direct
	JumpRatio *float64 `json:"ratio_jump,omitempty"` // bastion / jump
	Added     *float64 `json:"added,omitempty"`      // bastion − direct
	Goal      string   `json:"goal,omitempty"`
	Met       *bool    `json:"met"` // null: no goal, or nothing measured
	Note      string   `json:"note,omitempty"`
	format    string
	kind      goalKind
}

// report is the whole result of a run.
type report struct {
	Time            time.Time                       `json:"time"`
	Mode            string                          `json:"mode"`
	Rounds          int                             `json:"rounds"`
	Sizes           map[string]int64                `json:"sizes"`
	Machine         machine                         `json:"machine"`
	Features        []string                        `json:"features"`
	Method          []string                        `json:"method"`
	Rows            []row                           `json:"rows"`
	Samples         map[string]map[string][]float64 `json:"samples"`
	Notes           []string                        `json:"notes,omitempty"`
	DurationSeconds float64                         `json:"duration_seconds"`
	// Failed says why the run stopped early: the rows left empty were not
	// measured, and a check of the cluster scenario may have failed.
	Failed string `json:"failed,omitempty"`
}

func (b *bench) report(elapsed time.Duration) *report {
	o := b.opt
	r := &report{
		Time:   time.Now().UTC(),
		Mode:   mode(o),
		Rounds: b.rounds,
		Sizes: map[string]int64{
			"transfer_bytes": o.xferBytes, "text_bytes": o.textBytes, "keystrokes": int64(o.keystrokes),
			"certificate_clients": int64(o.certClients), "certificate_requests": int64(o.certRequests),
			"sessions_in_a_row_per_round": int64(o.seqPerRound()), "sessions_at_once": int64(o.parSessions),
			"idle_sessions": int64(o.idleSessions), "cluster_sessions": int64(o.clusterSessions),
		},
		Machine: describeMachine(),
		Features: append([]string{
			"recording: on (the bastion records every session; its sizes are in the table)",
			"client cipher pinned with -c on both paths, Compression=no; the bastion's leg to the target uses its default cipher",
		}, b.features...),
		Method: []string{
			"medians across rounds; percentiles per round, then their median; A/B order alternates each round",
			"throughput: downloads from first byte to end of output, uploads from when the remote command has started (it prints a line before reading; only then is ssh's stdin fed) to ssh's exit, scp whole command",
			"jump host: transfers also run through a second stock sshd on loopback that only forwards to the target (ssh -J, same cipher on both hops); the client then encrypts twice, the jump sshd decrypts and re-encrypts the outer hop",
			"server CPU: the middle box of each path, per GiB: bastion utime+stime from /proc/PID/stat; jump host: its sshd listener's utime+stime+cutime+cstime once it has reaped every per-connection process; direct: the same for the target's sshd, minus the remote command's CPU reported by the shell builtin `times`",
			"idle memory: bastion VmRSS growth with all sessions open; sshd: summed PSS of its per-connection processes",
			"recording: size of the session's .cast file per byte of command output",
			"cluster: two bastion nodes on one PostgreSQL and one S3 bucket (versitygw), sessions alternating between them, each `echo LINE; read; echo LINE` under a pty; memory is both nodes' VmRSS growth over the sessions; then every client's exit, every row, every recording in the bucket and `verify --all` are checked",
			"certificates over HTTP: the harness's OpenID provider issues a JWT access token (client credentials); concurrent HTTP/1.1 keep-alive clients POST it with a public key to /v1/certificate over HTTPS; one untimed request per client first",
		},
		Samples:         b.res.samples,
		Notes:           b.res.notes,
		DurationSeconds: elapsed.Seconds(),
	}
	for _, sp := range rowSpecs(o) {
		r.Rows = append(r.Rows, b.makeRow(sp))
	}
	return r
}

func (b *bench) makeRow(sp rowSpec) row {
	rw := row{Scenario: strings.TrimSpace(sp.scenario), Unit: sp.unit, Metric: sp.metric, Goal: sp.goalText(), Note: sp.note, format: sp.format, kind: sp.goal}
	if sp.na != "" {
		rw.Note = sp.na
		return rw
	}
	if v, ok := b.res.median(sp.metric, viaBastion); ok {
		rw.Bastion = &v
	}
	if v, ok := b.res.median(sp.metric, direct); ok && !sp.bastionOnly {
		rw.Direct = &v
	}
	if v, ok := b.res.median(sp.metric, viaJump); ok && sp.jump {
		rw.Jump = &v
		if rw.Bastion != nil && v != 0 {
			r := *rw.Bastion / v
			rw.JumpRatio = &r
		}
	}
	if rw.Direct != nil && rw.Bastion != nil {
		added := *rw.Bastion - *rw.Direct
		rw.Added = &added
		if *rw.Direct != 0 {
			ratio := *rw.Bastion / *rw.Direct
			rw.Ratio = &ratio
		}
	}
	var met bool
	switch {
	case rw.Bastion == nil || sp.goal == noGoal:
		return rw
	case sp.goal == atLeastRatio && rw.Ratio != nil:
		met = *rw.Ratio >= sp.limit
	case sp.goal == atMostRatio && rw.Ratio != nil:
		met = *rw.Ratio <= sp.limit
	case sp.goal == atMostAdded && rw.Added != nil:
		met = *rw.Added <= sp.limit
	case sp.goal == atMostAbs:
		met = *rw.Bastion <= sp.limit
	case sp.goal == atLeastAbs:
		met = *rw.Bastion >= sp.limit
	default:
		return rw
	}
	rw.Met = &met
	return rw
}

func (r *report) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nbastion vs direct OpenSSH and an OpenSSH jump host (ssh -J): %s mode, %d round(s), medians; transfers %d MiB\n",
		r.Mode, r.Rounds, r.Sizes["transfer_bytes"]>>20)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s RAM, Linux %s, %s, %s, load %s\n",
		m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.OpenSSH, m.Go, m.LoadAvg)
	for _, f := range r.Features {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tunit\tdirect\tjump\tbastion\tvs direct\tvs jump\tgoal\tmet?")
	met, goals := 0, 0
	for _, rw := range r.Rows {
		if rw.Met != nil {
			goals++
			if *rw.Met {
				met++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", indent(rw), rw.Unit, rw.cell(rw.Direct, false), rw.cell(rw.Jump, false),
			rw.cell(rw.Bastion, true), rw.ratioCell(), rw.jumpRatioCell(), rw.Goal, rw.metCell())
	}
	tw.Flush()
	fmt.Fprintf(w, "\ngoals met: %d of %d; run took %s\n", met, goals, time.Duration(r.DurationSeconds*float64(time.Second)).Round(time.Second))
	for _, rw := range r.Rows {
		if rw.Note != "" && rw.Bastion != nil {
			fmt.Fprintf(w, "  %s: %s\n", rw.Scenario, rw.Note)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.Failed != "" {
		fmt.Fprintf(w, "\nFAILED (the run stopped here): %s\n", r.Failed)
	}
}

// subRows begin the names of the rows printed under their scenario.
var subRows = []string{"server CPU", "latency", "bastion memory total", "nodes' memory total", "setup rate", "all recordings", "whole scenario"}

// indent keeps the sub-rows (CPU, latencies) visibly under their scenario.
func indent(rw row) string {
	for _, p := range subRows {
		if strings.HasPrefix(rw.Scenario, p) {
			return "  " + rw.Scenario
		}
	}
	return rw.Scenario
}

func (rw row) cell(v *float64, bastion bool) string {
	if v == nil {
		if bastion && rw.Metric == "" {
			return rw.Note
		}
		return "—"
	}
	return fmt.Sprintf(rw.format, *v)
}

func (rw row) ratioCell() string {
	switch {
	case rw.kind == atMostAdded && rw.Added != nil:
		return fmt.Sprintf("%+.3f %s", *rw.Added, rw.Unit)
	case rw.Ratio != nil:
		return fmt.Sprintf("%.2f×", *rw.Ratio)
	}
	return "—"
}

func (rw row) jumpRatioCell() string {
	if rw.JumpRatio == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", *rw.JumpRatio)
}

func (rw row) metCell() string {
	switch {
	case rw.Met == nil && rw.Goal == "":
		return ""
	case rw.Met == nil:
		return "n/a"
	case *rw.Met:
		return "yes"
	}
	return "NO"
}

// write stores the report as bench-TIMESTAMP.json and latest.json in dir.
func (r *report) write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	files := []string{
		filepath.Join(dir, "bench-"+r.Time.Format("20060102-150405")+".json"),
		filepath.Join(dir, "latest.json"),
	}
	for _, f := range files {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}
