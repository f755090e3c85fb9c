package server

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadUsername is returned for an SSH user name that is not LOGIN@TARGET
// or TARGET.
var ErrBadUsername = errors.New("malformed user name")

// Address is where a client asked to go.
type Address struct {
	Login  string // empty means the target's default login
	Target string
}

// ParseAddress splits the SSH user name. OpenSSH takes the last '@' of
// "LOGIN@TARGET@BASTION" as the host separator, so the server sees
// "LOGIN@TARGET". Exactly one '@' at most; both parts restricted to the
// characters a POSIX login and a host name may hold, so nothing odd reaches
// a log line, a policy match or the target.
func ParseAddress(user string) (Address, error) {
	if user == "" {
		return Address{}, fmt.Errorf("%w: empty", ErrBadUsername)
	}
	if len(user) > 300 {
		return Address{}, fmt.Errorf("%w: longer than 300 bytes", ErrBadUsername)
	}
	login, target, found := strings.Cut(user, "@")
	if !found {
		login, target = "", user
	}
	if strings.Contains(target, "@") {
		return Address{}, fmt.Errorf("%w: more than one '@'", ErrBadUsername)
	}
	if found && !validLogin(login) {
		return Address{}, fmt.Errorf("%w: login %q is not a valid user name", ErrBadUsername, printable(login))
	}
	if !validTarget(target) {
		return Address{}, fmt.Errorf("%w: target %q is not a valid name", ErrBadUsername, printable(target))
	}
	return Address{Login: login, Target: target}, nil
}

// validLogin accepts POSIX portable user names (IEEE Std 1003.1 3.437):
// letters, digits, '.', '_', '-', not starting with '-', at most 32 bytes.
func validLogin(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validTarget(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// printable escapes control characters so a hostile user name cannot
// inject terminal escapes or newlines into messages and logs.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
