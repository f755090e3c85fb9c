// Package server is bastion's front SSH server and proxy.
//
// A client authenticates with a user certificate (auth.go); its SSH user
// name says where to go, LOGIN@TARGET (address.go). Each session channel is
// checked against the policy, recorded (recorded before seen: output reaches
// the client only after the recorder accepted it), and proxied to the target
// over a connection that the bastion authenticates with its own credential
// and whose host key it verifies (upstream.go). Every decision is written to
// the audit store before it takes effect.
//
// Dependencies point one way: server uses certauth, policies, recorder and
// store; none of those import server.
package server
