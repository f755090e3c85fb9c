package main

import (
	"context"
	"errors"
	"github.com/bastion-ssh/bastion/store"
	"io"
	"os"
	"strings"
)

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("todo")
}

// recordingPath resolves a session id (via the store) or a file path.
func recordingPath(ctx context.Context, df dataFlags, arg string) (string, error) {
	if strings.HasSuffix(arg, ".cast") {
		if _, err := os.Stat(arg); err == nil {
			return arg, nil
		}
	}
	st, err := df.openStore()
	if err != nil {
		return "", err
	}
	defer st.Close()
	s, err := st.Session(ctx, arg)
	if errors.Is(err, store.ErrNotFound) {
		return "", errors.New("no session " + arg)
	}
	if err != nil {
		return "", err
	}
	return s.Recording, nil
}
