package devhost

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
)

// DemoUser is the system account `bastion dev` creates, when run as root,
// for the demo target's sessions: the shell a visitor gets must not be
// able to read the CA keys or edit the database that hold the tour's
// evidence.
const DemoUser = "bastion-demo"

// DemoHome is the demo user's home, outside any bastion data directory.
const DemoHome = "/var/lib/bastion-demo"

// Account is the unprivileged user sessions run as.
type Account struct {
	Name     string
	UID, GID uint32
	Home     string
}

// EnsureAccount returns the account name, creating it as a system user
// with its own group and home when it does not exist (useradd, so root
// only). The account must not be root: that would defeat its purpose.
func EnsureAccount(name, home string) (*Account, error) {
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		out, uerr := exec.Command("useradd", "--system", "--user-group", "--create-home", "--home-dir", home,
			"--shell", "/bin/bash", "--comment", "bastion dev demo sessions", name).CombinedOutput()
		if uerr != nil {
			return nil, fmt.Errorf("devhost: useradd %s: %v: %s", name, uerr, out)
		}
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, fmt.Errorf("devhost: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("devhost: user %s (uid %s) cannot hold demo sessions", name, u.Uid)
	}
	a := &Account{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	// An existing account may have lost its home (a cleaned /var/lib).
	if err := os.MkdirAll(a.Home, 0o700); err != nil {
		return nil, fmt.Errorf("devhost: %w", err)
	}
	if err := os.Chown(a.Home, int(a.UID), int(a.GID)); err != nil {
		return nil, fmt.Errorf("devhost: %w", err)
	}
	return a, nil
}
