// Package certauth issues and checks the SSH certificates bastion relies on.
//
// Two certificate authorities are involved. The user CA signs short-lived
// user certificates that name a person or agent; the front server accepts
// only those (Checker). The target CA signs a fresh certificate for each
// upstream connection, whose KeyId carries the identity and session id, so
// that a target's own sshd log names the person behind the bastion.
package certauth
