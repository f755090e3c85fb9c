package server

import (
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/ssh"
)

// Payloads of the session channel requests the server looks into
// (RFC 4254 section 6). Everything else is forwarded opaquely.

type ptyRequest struct {
	Term   string
	Cols   uint32
	Rows   uint32
	Width  uint32
	Height uint32
	Modes  string
}

type envRequest struct {
	Name  string
	Value string
}

type execRequest struct {
	Command string
}

type subsystemRequest struct {
	Name string
}

type windowChange struct {
	Cols   uint32
	Rows   uint32
	Width  uint32
	Height uint32
}

type exitStatus struct {
	Status uint32
}

type exitSignal struct {
	Signal     string
	CoreDumped bool
	Message    string
	Lang       string
}

var errShortPayload = errors.New("short request payload")

func parsePayload[T any](b []byte) (T, error) {
	var v T
	if err := ssh.Unmarshal(b, &v); err != nil {
		return v, errShortPayload
	}
	return v, nil
}

func exitStatusPayload(code int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	return b[:]
}
