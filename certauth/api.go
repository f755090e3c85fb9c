package certauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// Paths of the certificate API.
const (
	PathCertificate = "/v1/certificate"
	PathHostKeys    = "/v1/host-keys"
	// maxRequestBytes bounds a certificate request body.
	maxRequestBytes = 64 << 10
)

// API serves the certificate API over HTTP:
//
//	POST /v1/certificate  {"token", "public_key", "ttl"} → CertificateResponse
//	GET  /v1/host-keys    the bastion's SSH host keys, one authorized_keys line each
//	GET  /v1/targets      (Authorization: Bearer TOKEN) → TargetsResponse
//
// Refusals are JSON {"error", "reason"} with status 400, 401 or 403 (see
// reasons.go). The handler must be served over TLS: requests carry bearer
// tokens.
type API struct {
	Issuer   *Issuer
	HostKeys []ssh.PublicKey
	// SSHAddress is the host:port clients should dial for SSH, reported
	// with each certificate; "" leaves it out.
	SSHAddress string
	// Limiter, if set, limits certificate requests per client address.
	Limiter *SourceLimiter
	// Targets, if set, serves GET /v1/targets.
	Targets TargetLister
}

// CertificateRequest is the body of POST /v1/certificate.
type CertificateRequest struct {
	Token     string `json:"token"`
	PublicKey string `json:"public_key"`
	TTL       string `json:"ttl,omitempty"`
}

// CertificateResponse is the answer to a granted request.
type CertificateResponse struct {
	Certificate string    `json:"certificate"` // authorized_keys line
	Serial      string    `json:"serial"`      // decimal
	Identity    string    `json:"identity"`
	Groups      []string  `json:"groups"`
	Principals  []string  `json:"principals"`
	ValidBefore time.Time `json:"valid_before"`
	SSHAddress  string    `json:"ssh_address,omitempty"`
}

// ErrorResponse is the body of a refusal.
type ErrorResponse struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathCertificate:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Error: "use POST", Reason: "method_not_allowed"})
			return
		}
		a.certificate(w, r)
	case PathTargets:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Error: "use GET", Reason: "method_not_allowed"})
			return
		}
		a.targets(w, r)
	case PathHostKeys:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Error: "use GET", Reason: "method_not_allowed"})
			return
		}
		var buf bytes.Buffer
		for _, k := range a.HostKeys {
			buf.Write(ssh.MarshalAuthorizedKey(k))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	default:
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "no such endpoint", Reason: "not_found"})
	}
}

func (a *API) certificate(w http.ResponseWriter, r *http.Request) {
	if a.rateLimited(w, r) {
		return
	}
	req, err := DecodeCertificateRequest(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		a.Issuer.refuse(r.Context(), r.RemoteAddr, err)
		writeRefusal(w, err)
		return
	}
	issued, err := a.Issuer.Issue(r.Context(), IssueRequest{
		Token: req.Token, PublicKey: req.PublicKey, TTL: req.TTL, RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		if _, status := classify(err); status == http.StatusInternalServerError {
			a.Issuer.logger().Error("certificate request failed", "err", err)
		}
		writeRefusal(w, err)
		return
	}
	c := issued.Certificate
	groups := issued.Groups
	if groups == nil {
		groups = []string{}
	}
	writeJSON(w, http.StatusOK, CertificateResponse{
		Certificate: string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(c))),
		Serial:      strconv.FormatUint(c.Serial, 10),
		Identity:    issued.Identity,
		Groups:      groups,
		Principals:  c.ValidPrincipals,
		ValidBefore: time.Unix(int64(c.ValidBefore), 0).UTC(),
		SSHAddress:  a.SSHAddress,
	})
}

// DecodeCertificateRequest reads exactly one JSON object with known fields
// only. It is the parser of untrusted input on this endpoint.
func DecodeCertificateRequest(r io.Reader) (CertificateRequest, error) {
	var req CertificateRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, fmt.Errorf("%w: body larger than %d bytes", ErrMalformedRequest, tooBig.Limit)
		}
		return req, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, fmt.Errorf("%w: data after the JSON object", ErrMalformedRequest)
	}
	if req.Token == "" {
		return req, fmt.Errorf("%w: missing token", ErrMalformedRequest)
	}
	return req, nil
}

// writeRefusal answers with the reason code and the error text. The text
// names what was wrong with the caller's own request (never another
// user's data), so it is safe to show.
func writeRefusal(w http.ResponseWriter, err error) {
	code, status := classify(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "certificate could not be issued; the bastion's log has details"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, ErrorResponse{Error: msg, Reason: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// rateLimited answers 429 with Retry-After when the client's address is
// over its rate, before anything of the request is read. An unparsable
// peer address (none over TCP) shares the zero address's bucket.
func (a *API) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	if a.Limiter == nil {
		return false
	}
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	ok, wait, report := a.Limiter.Allow(peer.Addr())
	if ok {
		return false
	}
	if report {
		a.Issuer.refuse(r.Context(), r.RemoteAddr, ErrRateLimited)
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeRefusal(w, ErrRateLimited)
	return true
}
