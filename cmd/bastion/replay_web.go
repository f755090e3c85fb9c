package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/replay"
)

// serveWebReplay serves the recording at path to a browser until ctx
// ends. The listener must be on loopback: the page has no login, so an
// auditor on another machine reaches it through an SSH tunnel.
func serveWebReplay(ctx context.Context, stdout io.Writer, path, listen string, v replay.Verification) error {
	if err := config.RequireLoopback(listen); err != nil {
		return usagef("replay --web: %v; the page has no login", err)
	}
	h, err := replay.WebPlayer(path, v)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("replay --web: %w", err)
	}
	srv := &http.Server{Handler: replay.AllowHosts(h, replay.ListenHosts(ln.Addr())...), ReadHeaderTimeout: apiReadHeaderTimeout, IdleTimeout: apiIdleTimeout}
	fmt.Fprintf(stdout, "playing %s at http://%s/ (%s); Ctrl-C to stop\n", path, ln.Addr(), v.Summary)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// verifyForPage verifies the recording for the page's banner. A recording
// that cannot be verified is still shown, under a warning that says why.
func verifyForPage(df dataFlags, keyFile, path string) replay.Verification {
	pub, err := signingPublicKey(df, keyFile)
	if err != nil {
		return replay.Verification{Summary: "not verified: " + err.Error()}
	}
	res, err := recorder.Verify(path, pub)
	if err != nil {
		return replay.Verification{Summary: fmt.Sprintf("NOT VERIFIED (%s): %v", res, err)}
	}
	return replay.Verification{OK: res.Complete && res.Signed, Summary: res.String()}
}
