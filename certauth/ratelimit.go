package certauth

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of a SourceLimiter: a person logs in a few times a day and an
// agent a few times an hour, so a burst of 20 and 5 a second after it
// never slow a legitimate client, while a client guessing or replaying
// tokens gets 5 tries a second instead of as many as the CPU allows.
const (
	DefaultRatePerSecond = 5
	DefaultRateBurst     = 20
)

// Bounds of a SourceLimiter's memory.
const (
	// maxTrackedSources is how many addresses get their own bucket; past
	// it (an attack from a very large botnet) new addresses share one.
	maxTrackedSources = 100_000
	// sweepEvery is how often buckets that have refilled are dropped: a
	// full bucket behaves exactly like a new one.
	sweepEvery = time.Minute
	// reportEvery is how often one address's refusals are audited: each
	// refusal would let a flood write the audit log at its own pace.
	reportEvery = time.Minute
)

// SourceLimiter limits certificate requests per client address with a
// token bucket each (golang.org/x/time/rate). The address is the TCP
// peer's: behind a reverse proxy every client shares the proxy's bucket,
// so raise the limits there. The zero value is not usable; use
// NewSourceLimiter.
type SourceLimiter struct {
	limit rate.Limit
	burst int
	clock func() time.Time

	mu        sync.Mutex
	sources   map[netip.Addr]*sourceBucket
	overflow  *sourceBucket // shared by addresses past maxTrackedSources
	lastSweep time.Time
}

type sourceBucket struct {
	lim      *rate.Limiter
	reported time.Time // last refusal audited
}

// NewSourceLimiter allows each address burst requests at once and
// perSecond after that; zero values take the defaults.
func NewSourceLimiter(perSecond float64, burst int) *SourceLimiter {
	if perSecond <= 0 {
		perSecond = DefaultRatePerSecond
	}
	if burst <= 0 {
		burst = DefaultRateBurst
	}
	return &SourceLimiter{
		limit: rate.Limit(perSecond), burst: burst, clock: time.Now,
		sources: map[netip.Addr]*sourceBucket{},
	}
}

// Allow takes a token for addr. When there is none it returns how long
// until there is, and whether this refusal is the one to audit (the first
// for addr in reportEvery).
func (l *SourceLimiter) Allow(addr netip.Addr) (ok bool, retryAfter time.Duration, report bool) {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.bucket(addr.Unmap())
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		report = now.Sub(b.reported) >= reportEvery
		if report {
			b.reported = now
		}
		return false, d, report
	}
	return true, 0, false
}

func (l *SourceLimiter) bucket(addr netip.Addr) *sourceBucket {
	if b, ok := l.sources[addr]; ok {
		return b
	}
	b := &sourceBucket{lim: rate.NewLimiter(l.limit, l.burst)}
	if len(l.sources) < maxTrackedSources {
		l.sources[addr] = b
		return b
	}
	if l.overflow == nil {
		l.overflow = b
	}
	return l.overflow
}

// sweep drops the buckets that have refilled; l.mu is held.
func (l *SourceLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for addr, b := range l.sources {
		if b.lim.TokensAt(now) >= float64(l.burst) && now.Sub(b.reported) >= reportEvery {
			delete(l.sources, addr)
		}
	}
}
