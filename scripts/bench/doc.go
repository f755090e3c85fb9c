// Command bench measures bastion against direct OpenSSH on this machine, in
// one run: the same OpenSSH client, the same target sshd, the same pinned
// cipher, alternating between the two paths round after round.
//
//	go run ./scripts/bench                 # full: 5 rounds, 256 MiB transfers, 500 idle sessions, a 500-session cluster
//	BENCH_QUICK=1 go run ./scripts/bench   # smoke: 1 round, 16 MiB, 20 idle sessions, 200 certificates, no cluster
//
// It needs root (the target sshd switches users) and /usr/sbin/sshd, ssh and
// scp (`make deps` installs them). BENCH_ROUNDS=N overrides the number of
// rounds, BENCH_MIB=N the size of the transfers; BENCH_ONLY=download,upload
// runs only the named scenarios; BENCH_CLUSTER_SESSIONS=N sizes the
// cluster scenario (0 skips it); BENCH_KEEP=1 keeps the work directory
// (logs, configs, database).
//
// # Set-up
//
// Everything runs on loopback: a real sshd (the target) trusting a target
// CA, and a `bastion serve --config` process built from this checkout whose
// policy lets group ops log in as root on every target. The client holds
// one key with two certificates: one from the bastion's user CA (identity
// bench@example.com, group ops) for the bastion path, one from the target
// CA (principal root) for the direct path, so both paths authenticate with
// certificates. Every ssh and scp runs with -F /dev/null, BatchMode,
// IdentitiesOnly, Compression=no, a known_hosts file per path and the
// cipher pinned with -c. Sessions on the target get an empty HOME, so
// that the login user's shell start-up files add nothing to either path.
// The bastion's own leg to the target uses its default cipher preference
// (it has no setting for it). The bastion also serves its certificate API
// (see below).
//
// # The jump host
//
// What a user weighs the bastion against is the jump host they already
// have. Every transfer scenario (downloads, uploads, scp) therefore also
// runs through a third path: a second stock sshd on loopback, trusting the
// target CA, that allows nothing but forwarding to the target (`ssh -J`).
// The hop gets the same options and pinned cipher from an ssh
// configuration file, because options on ssh's command line apply to the
// destination only. On that path the client encrypts twice (the inner
// connection to the target travels inside the outer one to the jump
// host), and the jump host's sshd decrypts and re-encrypts the outer layer
// only: it records and masks nothing. The three paths take turns going
// first, round after round.
//
// # Measurements
//
// Throughput is timed on the data only: for downloads from the first byte
// read from ssh's stdout to its end; for uploads from the moment the
// remote command has started until ssh exits. The remote command of an
// upload first prints a line, and only then does the harness feed ssh's
// stdin: ssh sends its stdin right after the exec request, without
// waiting for the reply, which through the bastion is before the bastion
// has connected to the target, so the clock would otherwise start
// earlier on that path. scp is timed whole (connection set-up included),
// as a user sees it.
//
// Uploads still include a start-up cost of the target's sshd, on both
// paths alike: when the first window of data (2 MiB) arrives in a burst,
// sshd grows its channel buffer a packet at a time, copying it on each
// step (seen with strace), which takes most of a second on a 2-core VM.
// A 16 MiB upload (quick mode) measures mostly that; 256 MiB (full
// mode) measures throughput with a smaller share of it.
//
// CPU per GiB compares the middle boxes: the bastion process, and the jump
// host's sshd processes; for reference, the target's sshd processes that
// serve the same transfer directly. The bastion is one process: its
// utime+stime from /proc/PID/stat, before and after. sshd forks processes
// per connection (listener → monitor → session process → shell), which
// exit when the connection ends; polling them would miss their last ticks.
// Instead the harness waits until the listener has reaped all of them
// (it has no children left) and reads the listener's own utime+stime plus
// cutime+cstime, which by then include every descendant. The remote
// command ends with the shell builtin `times`, which prints the CPU of the
// shell and of the command it ran (head, cat); that workload is subtracted,
// leaving only sshd's own work: key exchange, authentication, encryption
// and copying. The jump host's listener is read the same way, with nothing
// to subtract: it runs no command. Between measurements the harness waits
// until both listeners have no children and the bastion's CPU counter stops
// moving.
//
// Idle sessions: N `ssh -tt … 'echo ready; exec sleep 600'` through the
// bastion; once every client has printed "ready" (so each session is open
// end to end) the bastion's VmRSS minus its VmRSS before, per session. For
// reference the same through the direct path (at most 100 sessions), as the
// summed PSS of the per-connection sshd processes (PSS splits pages shared
// between forks).
//
// Features: the report says what the bastion did to the sessions. Masking
// is found out by a probe (an e-mail address echoed through the bastion
// comes back masked or not), and the key exchange each path negotiates is
// read from `ssh -v`.
//
// Certificate issuance is measured twice. In-process: certauth signs user
// certificates on one goroutine for a fixed time (the signing cost alone).
// Over the HTTP API: the harness runs the development OpenID provider
// (certauth/devoidc) in its own process, with one confidential client
// whose JWT access tokens speak for a service user in group ops, audience
// "bastion"; the bastion serves its certificate API on HTTPS with a
// self-signed certificate for 127.0.0.1 that the harness writes, and
// trusts the provider as its only issuer. Each round the harness obtains
// a token (client credentials grant) and N clients, each with its own
// key and one HTTP/1.1 keep-alive connection trusting that certificate,
// POST {"token", "public_key"} to /v1/certificate until a fixed number of
// certificates has been issued. Each client's first request is not timed
// (TLS handshake; the bastion fetches the provider's keys) and its
// certificate is checked in full; the timed ones are checked for status
// and shape. Every issuance includes verifying the token, signing and
// writing the audit record. The clients share the machine's cores with
// the bastion.
//
// Recording size is the size of the session's .cast file (from `bastion
// sessions list --json`) per byte the command printed. Two downloads are
// measured: /dev/zero, whose NUL bytes are JSON-escaped as \u0000 (6 bytes
// each, the worst case), and base64 text, which is what terminal output
// looks like. Recordings of large downloads are deleted once measured.
//
// Time budget: a round does not start if, at the pace of the slowest round
// so far, it would end after 9 minutes (quick mode: 110 s); the report then
// says how many rounds ran. The sessions in a row (200) are spread over the
// configured rounds, 40 per path and round, so that the paths alternate.
//
// Cluster: after the rounds (outside their time budget), two `bastion
// serve` nodes as one service: one PostgreSQL (internal/pgtest) and one
// bucket on a versitygw S3 server (internal/s3test), copies of the
// harness bastion's keys, recording on, both in front of the same target.
// N sessions (`ssh -tt … 'echo LINE; read _; echo LINE'`) alternate
// between the nodes, 16 being opened at a time; once all have printed
// their first line, each node's VmRSS growth over its baseline (taken
// after one warm-up session per node) gives the memory per session, and
// N over the time to open them all the setup rate. Then each client is
// sent a line and must print its last line and exit 0; every session must
// have an ended row (exit 0, its node) in the shared store, every
// recording must leave both nodes' disks (a node removes its copy once
// it is verified in the bucket) within 3 minutes, be read back from the
// bucket holding both lines its client read, and `bastion verify --all`
// on one node must find every session verified and no problem. Quick mode
// skips it unless BENCH_ONLY names it (then 20 sessions). The scenario has
// a deadline (3 minutes plus one second per session) and fails past it,
// naming the step. A run whose scenario fails still prints and writes the
// report, which says so, and exits 1.
//
// Results are medians across rounds; percentiles are taken per round and
// then the median of those. The table goes to stdout, the same data as JSON
// to bench-results/bench-TIMESTAMP.json and bench-results/latest.json.
package main
