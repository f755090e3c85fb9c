package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// setupScenario opens sessions that do nothing (`ssh … true`): one after
// another, then a burst all at once. The sessions in a row are spread over
// the rounds (200 over 5 rounds: 40 per path and round), so that the two
// paths alternate and the run stays within its time budget.
func (b *bench) setupScenario(ctx context.Context, order []side) error {
	for _, s := range order {
		if err := b.quiesce(ctx, 30*time.Second); err != nil {
			return err
		}
		n := b.opt.seqPerRound()
		lat := make([]time.Duration, 0, n)
		start := time.Now()
		for range n {
			d, err := b.sshTrue(ctx, s)
			if err != nil {
				return fmt.Errorf("%s sequential: %w", s, err)
			}
			lat = append(lat, d)
		}
		b.recordSetup("setup.seq", s, n, time.Since(start), lat)
	}
	for _, s := range order {
		if err := b.quiesce(ctx, 30*time.Second); err != nil {
			return err
		}
		n := b.opt.parSessions
		lat := make([]time.Duration, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lat[i], errs[i] = b.sshTrue(ctx, s)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("%s parallel: %w", s, err)
			}
		}
		b.recordSetup("setup.par", s, n, elapsed, lat)
	}
	return nil
}

func (b *bench) recordSetup(metric string, s side, n int, elapsed time.Duration, lat []time.Duration) {
	rate := float64(n) / elapsed.Seconds()
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.res.add(metric+".rate", s, rate)
	b.res.add(metric+".p50", s, ms(p50))
	b.res.add(metric+".p99", s, ms(p99))
	logf(b.opt.log, "%-40s %-7s %8.1f sessions/s  p50 %.1f ms  p99 %.1f ms", metric, s, rate, ms(p50), ms(p99))
}

// sshTrue runs one `ssh … true` and returns how long it took.
func (b *bench) sshTrue(ctx context.Context, s side) (time.Duration, error) {
	cmd := command(ctx, "ssh", b.e.sshArgs(s, ciphers[0], nil, "true")...)
	start := time.Now()
	err := b.e.procs.run(cmd)
	return time.Since(start), err
}
