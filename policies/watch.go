package policies

import (
	"context"
	"os"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is how often a Watcher checks the policy file.
const DefaultReloadInterval = 2 * time.Second

// Watcher holds the current policy and reloads it when the file changes.
// An invalid new version is reported and the previous one stays in force:
// a typo must never open or close access by accident.
type Watcher struct {
	file    string
	current atomic.Pointer[Policy]
	modTime time.Time
	size    int64

	// OnReload is called after each reload attempt with the error, if any.
	// Set it before Run.
	OnReload func(err error)
}

// NewWatcher loads file once; an invalid policy is a start-up error.
func NewWatcher(file string) (*Watcher, error) {
	w := &Watcher{file: file}
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	p, err := Load(file)
	if err != nil {
		return nil, err
	}
	w.current.Store(p)
	w.modTime, w.size = st.ModTime(), st.Size()
	return w, nil
}

// Static returns a Watcher that always serves p (tests, embedded defaults).
func Static(p *Policy) *Watcher {
	w := &Watcher{}
	w.current.Store(p)
	return w
}

// Current returns the policy in force.
func (w *Watcher) Current() *Policy { return w.current.Load() }

// Run polls the file every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	if w.file == "" {
		return
	}
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

func (w *Watcher) check() {
	st, err := os.Stat(w.file)
	if err != nil {
		w.report(err)
		return
	}
	if st.ModTime().Equal(w.modTime) && st.Size() == w.size {
		return
	}
	w.modTime, w.size = st.ModTime(), st.Size()
	p, err := Load(w.file)
	if err != nil {
		w.report(err)
		return
	}
	w.current.Store(p)
	w.report(nil)
}

func (w *Watcher) report(err error) {
	if w.OnReload != nil {
		w.OnReload(err)
	}
}
