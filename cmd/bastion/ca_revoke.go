package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// cmdCARevoke revokes one certificate by serial, or every certificate of
// an identity issued up to now. The front server consults the store on
// every new connection and channel, so the next login or session with a
// revoked certificate is refused, and its periodic check ends connections
// already open.
func cmdCARevoke(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("ca revoke", "ca revoke [--reason TEXT] SERIAL | ca revoke --identity ID [--reason TEXT] | ca revoke --list [--json]", stdout)
	identity := fs.String("identity", "", "revoke every certificate of this identity issued until now")
	reason := fs.String("reason", "", "why (recorded in the audit log)")
	list := fs.Bool("list", false, "list revocations instead")
	asJSON := fs.Bool("json", false, "print JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if *list {
		revs, err := st.Revocations(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			if revs == nil {
				revs = []store.Revocation{}
			}
			return writeJSON(stdout, revs)
		}
		for _, r := range revs {
			what := "serial " + r.Serial
			if r.Serial == "" {
				what = "identity " + r.Identity
			}
			fmt.Fprintf(stdout, "%s  %-40s %s\n", r.At.Local().Format(timeWithZone), what, r.Reason)
		}
		return nil
	}
	r := store.Revocation{Identity: *identity, Reason: *reason, At: time.Now()}
	switch {
	case *identity != "" && fs.NArg() == 0:
	case *identity == "" && fs.NArg() == 1:
		if _, err := strconv.ParseUint(fs.Arg(0), 10, 64); err != nil {
			return usagef("ca revoke: serial %q is not a decimal number (see ssh-keygen -L, or the audit log)", fs.Arg(0))
		}
		r.Serial = fs.Arg(0)
	default:
		return usagef("ca revoke: give one SERIAL, or --identity ID")
	}
	if err := st.Revoke(ctx, r); err != nil {
		return err
	}
	ev := store.Event{Type: "cert.revoke", Outcome: store.OutcomeInfo, Identity: r.Identity, Reason: r.Reason,
		Detail: map[string]any{"serial": r.Serial, "revoked_at": r.At.UTC().Format(time.RFC3339Nano)}}
	if err := st.Audit(ctx, ev); err != nil {
		return fmt.Errorf("revoked, but the audit event failed: %w", err)
	}
	if r.Serial != "" {
		fmt.Fprintf(stdout, "revoked certificate serial %s\n", r.Serial)
	} else {
		fmt.Fprintf(stdout, "revoked every certificate of %s issued before %s\n", r.Identity, r.At.Format(time.RFC3339))
	}
	return nil
}
