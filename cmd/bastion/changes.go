package main

import (
	"log/slog"

	"github.com/bastion-ssh/bastion/store"
)

// The parts of a running bastion that act on a decision written to the
// store by another process: the approvals broker (approvals.Broker) and
// the front server's revocation sweep (server.Server).
type (
	approvalWaiters interface{ Changed(approvalID string) }
	sweeper         interface{ Recheck() }
)

// followChanges passes the store's change feed on until it closes: an
// approval decided on another node releases or refuses the command held
// here at once, and a revocation issued on another node ends the sessions
// it covers here at once, not at the next sweep. Without a feed both
// still happen, at the broker's poll and the sweep's tick. When the feed
// falls back to polling (PostgreSQL's listening connection failed) that
// is logged once, as a warning, until it listens again: decisions on
// other nodes then arrive up to a poll late.
func followChanges(feed <-chan store.Change, approvals approvalWaiters, sweep sweeper, log *slog.Logger) {
	polling := false
	for c := range feed {
		switch c.Kind {
		case store.ChangeApproval:
			approvals.Changed(c.ID)
			continue
		case store.ChangeRevocation:
			sweep.Recheck()
			continue
		case store.ChangePolling:
			if !polling {
				log.Warn("change feed: cannot listen to PostgreSQL; polling the store instead, so approvals and revocations from other nodes arrive up to a poll late",
					"poll", store.DefaultChangePoll, "err", c.Why)
			}
			polling = true
		case store.ChangeListening:
			if polling {
				log.Info("change feed: listening to PostgreSQL again")
			}
			polling = false
		}
		approvals.Changed("")
		sweep.Recheck()
	}
}
