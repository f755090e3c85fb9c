package shipping

import "github.com/prometheus/client_golang/prometheus"

// metrics counts the shipper's work for /metrics. An alert on
// bastion_recordings_unshipped_oldest_seconds catches a bucket that has
// been unreachable for too long, before the local disk fills.
type metrics struct {
	uploads  *prometheus.CounterVec // files uploaded, by result: verified, failed
	bytes    prometheus.Counter     // bytes uploaded and verified
	shipped  prometheus.Counter     // recordings fully shipped and removed locally
	failures prometheus.Counter     // failed attempts to ship a recording
}

func newMetrics(reg prometheus.Registerer, s *Shipper) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bastion_recording_uploads_total",
			Help: "Recording files uploaded to the bucket, by result: verified (read back, same SHA-256) or failed.",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_recording_uploaded_bytes_total",
			Help: "Bytes of recording files uploaded and verified.",
		}),
		shipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_recordings_shipped_total",
			Help: "Closed recordings verified in the bucket and removed from the local disk.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_recording_ship_failures_total",
			Help: "Failed attempts to ship a recording; each is retried with backoff.",
		}),
	}
	m.uploads.WithLabelValues("verified")
	m.uploads.WithLabelValues("failed")
	if reg == nil {
		return m
	}
	reg.MustRegister(m.uploads, m.bytes, m.shipped, m.failures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bastion_recordings_unshipped",
			Help: "Recordings with shipping work waiting or under way: closed ones not yet shipped, open ones whose last checkpoint is not yet in the bucket.",
		}, func() float64 { n, _ := s.backlog(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bastion_recordings_unshipped_oldest_seconds",
			Help: "Age of the oldest shipping work not yet done; 0 when none waits.",
		}, func() float64 { _, age := s.backlog(); return age.Seconds() }))
	return m
}
