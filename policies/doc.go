// Package policies holds bastion's declarative policy: who may reach which
// LOGIN@TARGET, and with which session features.
//
// A Policy is pure: Decide answers from its inputs alone and does no I/O.
// Loading from YAML, validation and hot reload live beside it (load.go,
// watch.go), so the server only ever sees a validated, immutable Policy.
package policies
