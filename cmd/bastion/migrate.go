package main

import (
	"context"
	"fmt"
	"io"

	"github.com/bastion-ssh/bastion/store"
)

// cmdMigrate applies the store's pending schema migrations, or with
// --dry-run only lists them. `bastion serve` applies them at start too;
// running this first lets an operator see and time the change (an upgrade
// of several nodes on one PostgreSQL: migrate once, then restart each).
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate [--dry-run] [--json] (--config FILE | --data DIR)", stdout)
	dryRun := fs.Bool("dry-run", false, "list the pending migrations, change nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 0 {
		return usagef("migrate: takes no arguments")
	}
	sc, err := df.storeConfig()
	if err != nil {
		return err
	}
	sc.NoMigrate = true
	st, err := store.Connect(ctx, sc)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.PendingMigrations(ctx)
	verb := "pending"
	if err == nil && !*dryRun {
		list, err = st.Migrate(ctx)
		verb = "applied"
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"backend": st.Backend(), verb: nonNil(list)})
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "%s store: schema up to date\n", st.Backend())
		return nil
	}
	fmt.Fprintf(stdout, "%s store: %d migrations %s\n", st.Backend(), len(list), verb)
	for _, m := range list {
		fmt.Fprintf(stdout, "  %3d  %s\n", m.Version, m.Name)
	}
	return nil
}

func nonNil(l []store.Migration) []store.Migration {
	if l == nil {
		return []store.Migration{}
	}
	return l
}
