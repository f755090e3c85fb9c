// Package server is bastion's front SSH server and proxy.
//
// A client authenticates with a user certificate (auth.go), which binds the
// connection from then on (bound.go: every channel re-checks it, and a
// periodic sweep ends connections whose certificate expired or was
// revoked; permits.go: its permit-* extensions are enforced). Before
// authentication a client costs bounded resources and evidence (flood.go);
// behind a load balancer its address comes from a PROXY protocol header,
// believed only from the configured balancers (proxyheader.go). Shutdown
// drains: nothing new is taken, running sessions get a deadline (drain.go).
// Its SSH user name says where to go, LOGIN@TARGET (address.go, route.go).
//
// Each session channel goes through admission (admission.go: one policy
// snapshot decides; the recording, the row and the start event exist before
// anything reaches the target), the proxy (proxy.go: recorded before seen,
// every goroutine owned), and one finish path (finish.go: a cause becomes
// exit status, message and audit event). sftp is parsed from its first byte
// (sftpwire.go, sftp.go) or served under file rules (sftpgate*.go).
// Upstream connections are authenticated with the bastion's own credential
// and verify the target's host key (upstream.go). Every decision is written
// to the audit store before it takes effect.
//
// Dependencies point one way: server uses certauth, policies, recorder and
// store; none of those import server.
package server
