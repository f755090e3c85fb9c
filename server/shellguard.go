package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/cmdjudge"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/shellhook"
	"github.com/bastion-ssh/bastion/store"
)

// A guarded shell (policy "interactive: guarded") is bash started with the
// bastion's hook (package shellhook) in place of the login shell. Before
// every simple command the hook asks over the terminal; the bastion takes
// the question out of the output before masking and recording see it,
// judges the command with the same judge, rules, approvals and audit
// events as exec, and answers into the input while it holds the user's
// keystrokes back.

const (
	// helloTimeout bounds how long the target's side may take to start the
	// hook (login files included). Without its hello the shell is not
	// guarded, so the session ends.
	helloTimeout = 60 * time.Second
	// maxTypedAhead bounds the keystrokes kept behind a submit while a
	// verdict is out, and the typed-ahead text the hook hands back.
	maxTypedAhead = 64 << 10
	// doneTimeout bounds how long a submit waits after a verdict when the
	// hook does not report that it read it (a background job's hook whose
	// verdict the prompt took instead): then it is sent.
	doneTimeout = 2 * time.Second
	// ctrlC withdraws a held command.
	ctrlC = 0x03
	// guardRule names the guard's own refusals in audit events.
	guardRule = "interactive-guard"
)

// shellGuard is the bastion's side of one guarded shell.
//
// The stdout pipe's goroutine owns scan, queue and buf (through
// guardedOutput); the fields under mu are shared with the input goroutine.
// Lock order: mu, then the target channel's own locks (mu is held while
// the verdict and the keystrokes held back are written, so that nothing
// typed can overtake them).
type shellGuard struct {
	ss    *session
	nonce string
	scan  *shellhook.Scanner
	hello *time.Timer

	// echoes are the last verdicts sent: one that reaches the terminal
	// while echo is on (between two of the hook's reads of typed-ahead
	// lines) is taken out of the output. Owned by the stdout pipe's
	// goroutine, which both answers requests and reads the output.
	echoes [][]byte

	// mu also serializes the guard's writes to the target's input
	// (keystrokes, verdicts, keystrokes typed again), so that a verdict
	// is never split by keystrokes: the channel cuts a write into packets
	// when its window is short, and two writers' packets interleave.
	mu        sync.Mutex
	helloSeen bool
	login     bool   // the login files run: nothing is held for review
	held      bool   // a command is being judged or its verdict is out (shellguard_input.go)
	review    bool   // held for review: keystrokes are dropped, Ctrl-C withdraws
	withdraw  func() // cancels the review's wait
	typed     []byte // a submit typed while a verdict is out, and all typed after it
	overflow  bool   // typed reached maxTypedAhead: the rest is dropped
	// interrupted: a Ctrl-C reached the target while the hook waited for
	// its verdict; bash abandons the hook, which will not report.
	interrupted bool
	awaitDone   *time.Timer // set from a verdict until the hook's "typed" report
}

// guardShell is the admission step for pty shells: refused under
// "interactive: deny", guarded (ss.sguard set) under "guarded".
func (ss *session) guardShell() *endCause {
	if ss.kind != recorder.KindShell {
		return nil
	}
	switch ss.route.decision.Interactive {
	case policies.InteractiveDeny:
		return &endCause{code: ExitCommandDenied, event: "session.denied",
			msg: "interactive shells are not allowed here; run commands with ssh TARGET COMMAND",
			err: errors.New("interactive: deny")}
	case policies.InteractiveGuarded:
	default:
		return nil
	}
	if ss.s.cfg.Commands == nil {
		return &endCause{code: ExitInternal, event: "session.denied", msg: "commands cannot be judged here; shell refused",
			err: errors.New("interactive: guarded without a command judge")}
	}
	if ss.pty == nil {
		// A shell without a terminal reads a script from stdin that no
		// hook could answer for: such input is exec's to judge.
		return &endCause{code: ExitCommandDenied, event: "session.denied",
			msg: "a shell without a terminal is not allowed here; run commands with ssh TARGET COMMAND",
			err: errors.New("interactive: guarded, no pty")}
	}
	nonce, err := shellhook.NewNonce()
	if err != nil {
		return &endCause{code: ExitInternal, event: "session.failed", msg: "internal error; shell refused", err: err}
	}
	// Held from the start: a line submitted while the login files run
	// is sent after the first verdict, never into a hook's read.
	ss.sguard = &shellGuard{ss: ss, nonce: nonce, scan: shellhook.NewScanner(nonce), held: true}
	return nil
}

// startRequest is what the target is asked to run: the login shell, or
// for a guarded shell, bash with the hook.
func (ss *session) startRequest(req *ssh.Request) (string, []byte) {
	if ss.sguard == nil {
		return req.Type, req.Payload
	}
	g := ss.sguard
	g.hello = time.AfterFunc(helloTimeout, g.noHello)
	return "exec", ssh.Marshal(execRequest{Command: shellhook.Launch(g.nonce)})
}

func (g *shellGuard) noHello() {
	g.mu.Lock()
	seen := g.helloSeen
	g.mu.Unlock()
	if !seen {
		g.ss.end(endCause{code: ExitUnsupported, event: "session.failed",
			msg: "the guarded shell did not start (the target needs bash as a shell, and its login files must not replace it)",
			err: errors.New("no hello from the shell hook")})
	}
}

// stdoutSource is where the stdout pipe reads the target's output: the
// channel itself, or for a guarded shell the channel with the hook's
// requests taken out and answered.
func (ss *session) stdoutSource() io.Reader {
	if ss.sguard == nil {
		return ss.up
	}
	return &guardedOutput{g: ss.sguard, buf: make([]byte, copyBufferStart)}
}

// guardedOutput reads the target's output in order: the bytes before a
// request are delivered before the request is judged.
type guardedOutput struct {
	g     *shellGuard
	buf   []byte
	out   []byte              // output not yet delivered
	queue []shellhook.Request // requests after out, in order
	err   error
}

func (r *guardedOutput) Read(p []byte) (int, error) {
	for {
		if len(r.out) > 0 {
			n := copy(p, r.out)
			r.out = r.out[n:]
			return n, nil
		}
		if len(r.queue) > 0 {
			req := r.queue[0]
			r.queue = r.queue[1:]
			r.g.answer(req)
			continue
		}
		if r.err != nil {
			r.g.stop()
			return 0, r.err
		}
		n, err := r.g.ss.up.Read(r.buf)
		// Feed keeps no offsets: the output of a read is delivered whole
		// before its requests are judged. The hook waits for its verdict,
		// so the shell itself writes nothing after a request meanwhile.
		r.out, r.queue = r.g.scan.Feed(r.buf[:n])
		r.out = r.g.dropEchoes(r.out)
		if err != nil {
			r.err = err
		}
	}
}

func (g *shellGuard) dropEchoes(out []byte) []byte {
	for _, e := range g.echoes {
		out = bytes.ReplaceAll(out, e, nil)
	}
	return out
}

func (g *shellGuard) stop() {
	if g.hello != nil {
		g.hello.Stop()
	}
	g.mu.Lock()
	if g.awaitDone != nil {
		g.awaitDone.Stop()
	}
	g.mu.Unlock()
}

// answer judges one request and writes the verdict into the input.
func (g *shellGuard) answer(req shellhook.Request) {
	if req.Ready {
		g.mu.Lock()
		g.login = false
		g.mu.Unlock()
		return
	}
	if req.Hello {
		// A second hello (forged with the nonce, which the user can
		// read) only brings the login rule back: stricter, never laxer.
		g.mu.Lock()
		g.helloSeen, g.login = true, true
		g.mu.Unlock()
		g.stop()
		return
	}
	if req.Done {
		g.release(req.Typed)
		return
	}
	g.mu.Lock()
	ready := g.helloSeen
	g.held, g.review, g.interrupted = true, false, false
	g.mu.Unlock()
	run := false
	switch {
	case !ready:
		g.refuse(req, "a command asked before the guard started")
	case req.Err != nil:
		g.refuse(req, req.Err.Error())
	default:
		if why := shellhook.Tampers(req.Command); why != "" {
			g.refuse(req, "denied in a guarded shell: "+why)
		} else if shellhook.SeenThrough(req.Command) {
			run = g.allowSeenThrough(req)
		} else if why := g.notHeldAtLogin(req.Command); why != "" {
			g.refuse(req, why)
		} else {
			run = g.judge(req.Command)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// From here keystrokes wait until the hook reports what it read ahead
	// of the verdict (release), so that they reach the shell in order;
	// unless a Ctrl-C interrupted the hook, which then reports nothing.
	v := shellhook.Verdict(req.Challenge, run)
	_, _ = g.ss.up.Write(v) // a target gone is seen by the output pipe
	g.review, g.withdraw = false, nil
	if g.awaitDone != nil {
		g.awaitDone.Stop()
		g.awaitDone = nil
	}
	if g.interrupted {
		g.flush("")
	} else {
		g.awaitDone = time.AfterFunc(doneTimeout, func() { g.release("") })
	}
	g.echoes = append(g.echoes, append(bytes.TrimSuffix(v, []byte("\n")), '\r', '\n'))
	if len(g.echoes) > 4 {
		g.echoes = g.echoes[1:]
	}
}

// judge asks the session's command judge about cmd, as for exec.
func (g *shellGuard) judge(cmd string) bool {
	ss := g.ss
	ctx, cancel := context.WithCancel(ss.ctx)
	defer cancel()
	r := ss.commandRequest()
	r.Command = cmd
	r.ShownCommand, _ = ss.masker.MaskString(cmd)
	pos := ss.rec.Offset()
	r.Position = &pos
	r.Notify = func(line string) {
		g.mu.Lock()
		g.review, g.typed, g.withdraw = true, nil, cancel
		g.mu.Unlock()
		g.tell(oneLine(line) + " (Ctrl-C withdraws)")
	}
	v, err := ss.runJudge(ctx, ss.s.cfg.Commands, r)
	// Decided: what is typed from now on waits for the verdict instead of
	// being dropped.
	g.mu.Lock()
	g.review, g.withdraw = false, nil
	g.mu.Unlock()
	switch {
	case err != nil:
		ss.log.Error("judging a shell command", "err", err)
		g.tell("the command could not be judged; not run")
		return false
	case v.Allowed && ss.s.certProblem(ss.cs) != nil:
		// As for exec: a hold can outlast the certificate, and nothing
		// runs for a requester revoked or expired meanwhile.
		g.tell("the certificate is no longer valid; not run")
		return false
	case v.Allowed:
		for _, m := range v.Markers {
			if g.mark(m) != nil {
				return false
			}
		}
		if v.Notice != "" {
			g.tell(v.Notice)
		}
		return true
	}
	msg := v.Message
	if msg == "" {
		msg = "command denied: " + v.Reason
	}
	if g.mark(msg) == nil {
		g.tell(msg)
	}
	return false
}

// allowSeenThrough lets eval, source, . and alias run without asking the
// judge, which would hold them (it cannot see through them statically):
// the hook asks for each command they lead to. On the record.
func (g *shellGuard) allowSeenThrough(req shellhook.Request) bool {
	ss := g.ss
	shown, _ := ss.masker.MaskString(req.Command)
	pos := ss.rec.Offset()
	ev := ss.event("command", store.OutcomeAllowed, "rule "+guardRule)
	ev.Detail = map[string]any{"command": shown, "action": string(policies.CommandAllow), "rule": guardRule,
		"why": "seen through: each command it leads to is judged as it runs", "interactive": true}
	recEvent, recTime := pos.Event, pos.Elapsed.Seconds()
	ev.RecEvent, ev.RecTime = &recEvent, &recTime
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		ss.end(endCause{code: ExitInternal, event: "session.failed", msg: "audit store unavailable; session terminated", err: err})
		return false
	}
	return true
}

// notHeldAtLogin refuses, while the login files run, what the rules would
// hold for review: nobody is at the prompt yet to wait for a reviewer.
func (g *shellGuard) notHeldAtLogin(cmd string) string {
	g.mu.Lock()
	login := g.login
	g.mu.Unlock()
	if !login || g.ss.policy == nil {
		return ""
	}
	rt := g.ss.route
	subj := policies.CommandSubject{Identity: rt.identity, Groups: rt.groups, Target: rt.target.Name, Login: rt.login}
	if d := cmdjudge.Judge(&g.ss.policy.Commands, subj, cmd); d.Action == policies.CommandReview {
		return "not run from the login files: it would need review (" + d.Reason + ")"
	}
	return ""
}

// refuse denies a request the judge is not asked about, on the record.
func (g *shellGuard) refuse(req shellhook.Request, why string) {
	ss := g.ss
	shown, _ := ss.masker.MaskString(req.Command)
	pos := ss.rec.Offset()
	ev := ss.event("command", store.OutcomeDenied, "rule "+guardRule)
	ev.Detail = map[string]any{"command": shown, "action": string(policies.CommandDeny), "rule": guardRule,
		"why": why, "interactive": true}
	recEvent, recTime := pos.Event, pos.Elapsed.Seconds()
	ev.RecEvent, ev.RecTime = &recEvent, &recTime
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		ss.end(endCause{code: ExitInternal, event: "session.failed", msg: "audit store unavailable; session terminated", err: err})
		return
	}
	msg := fmt.Sprintf("denied: %s: %s", guardRule, why)
	if g.mark(msg) == nil {
		g.tell(msg)
	}
}

// mark records a decision as a marker and as an output line, as exec's
// markers are (commandwait.go).
func (g *shellGuard) mark(label string) error {
	label = oneLine(label)
	err := g.ss.rec.Marker(label)
	if err == nil {
		err = g.ss.rec.Output([]byte("bastion: " + label + "\r\n"))
	}
	if err != nil {
		g.ss.end(endCause{code: ExitRecordingFailed, event: "recording.failed",
			msg: "session recording failed; session terminated", err: err})
	}
	return err
}

// tell shows one line on the client's terminal.
func (g *shellGuard) tell(line string) {
	_, _ = g.ss.ch.Stderr().Write([]byte("bastion: " + oneLine(line) + "\r\n")) // a client gone is seen by the proxy
}
