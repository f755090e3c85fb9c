package store

import (
	"sync"
	"testing"
)

// A new database gets every version once, in order; opening it again
// applies nothing; and two nodes starting at the same moment on one new
// database both open it, the second finding the work done.
func TestMigrations(t *testing.T) { forEachBackend(t, testMigrations) }

func testMigrations(t *testing.T, b backend) {
	c := b.fresh(t)
	c.NoMigrate = true
	bare := b.open(t, c)
	pending, err := bare.PendingMigrations(t.Context())
	if err != nil || len(pending) != len(migrations) || pending[0].Version != 1 {
		t.Fatalf("pending on a new database = %+v, %v", pending, err)
	}
	if again, _ := bare.PendingMigrations(t.Context()); len(again) != len(migrations) {
		t.Fatalf("listing pending migrations applied some: %d left", len(again))
	}

	c.NoMigrate = false
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Connect(t.Context(), c) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	s := stores[0]
	if left, err := s.PendingMigrations(t.Context()); err != nil || len(left) != 0 {
		t.Errorf("pending after opening = %+v, %v", left, err)
	}
	var versions, distinct int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations) || distinct != len(migrations) {
		t.Errorf("schema_migrations holds %d rows, %d versions; want %d of each", versions, distinct, len(migrations))
	}
	// One chain start, however many nodes started it.
	if evs, _ := s.Events(t.Context(), EventFilter{Type: ChainStartType}); len(evs) != 1 {
		t.Errorf("%d chain starts", len(evs))
	}
	if applied, err := s.Migrate(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("migrating again applied %+v, %v", applied, err)
	}
}
