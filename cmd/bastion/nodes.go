package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/store"
)

// Node states as `bastion nodes` shows them.
const (
	nodeLive    = "live"
	nodeStale   = "stale"   // silent past the bound: taken for dead
	nodeStopped = "stopped" // stopped cleanly and released its name
)

// nodeView is one node's heartbeat row as `bastion nodes --json` prints it.
type nodeView struct {
	Name          string    `json:"name"`
	State         string    `json:"state"`
	Host          string    `json:"host"`
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
	AgeSeconds    float64   `json:"age_seconds,omitempty"`
}

func cmdNodes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("nodes", "nodes [--json] [--config FILE | --data DIR]", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	bound := liveness.DefaultStaleAfter
	if *df.config != "" {
		cfg, err := config.Load(*df.config)
		if err != nil {
			return err
		}
		if cfg.Limits.NodeStaleAfter > 0 {
			bound = cfg.Limits.NodeStaleAfter
		}
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := st.Nodes(ctx)
	if err != nil {
		return err
	}
	views := make([]nodeView, 0, len(rows))
	for _, r := range rows {
		views = append(views, viewNode(r, bound))
	}
	if *asJSON {
		return writeJSON(stdout, views)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tHOST\tPID\tSTARTED\tLAST HEARTBEAT")
	for _, v := range views {
		beat := "-"
		if v.State != nodeStopped {
			beat = fmt.Sprintf("%s (%s ago)", v.LastHeartbeat.Local().Format(timeWithZone), time.Duration(v.AgeSeconds*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", display(false).s(v.Name), v.State, display(false).s(v.Host), v.PID,
			v.Started.Local().Format(timeWithZone), beat)
	}
	return tw.Flush()
}

// viewNode judges a row as the sweep would, on the database's clock.
func viewNode(r store.NodeRow, bound time.Duration) nodeView {
	v := nodeView{Name: r.Name, State: nodeLive, Host: r.Host, PID: r.PID, Started: r.Started}
	switch {
	case r.Released():
		v.State = nodeStopped
		return v
	case r.Age > bound:
		v.State = nodeStale
	}
	v.LastHeartbeat, v.AgeSeconds = r.Beat, r.Age.Seconds()
	return v
}
