package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files and lifetime of `bastion dev`'s self-signed TLS certificate.
const (
	devTLSCert     = "tls_cert.pem"
	devTLSKey      = "tls_key.pem"
	devTLSLifetime = 365 * 24 * time.Hour
	devTLSRenew    = 7 * 24 * time.Hour // renewed when it expires sooner
)

// devTLS returns the development API's certificate and key files in dir,
// creating a self-signed certificate for 127.0.0.1, ::1 and localhost
// when none exists or the current one is about to expire. Clients trust
// it with `bastion login --ca-cert DIR/tls_cert.pem`.
func devTLS(dir string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, devTLSCert), filepath.Join(dir, devTLSKey)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && pair.Leaf != nil && time.Until(pair.Leaf.NotAfter) > devTLSRenew {
		return certFile, keyFile, nil
	}
	pair, err := selfSignedTLS("bastion dev", nil, devTLSLifetime)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pair.key, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pair.cert, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// pemPair is a PEM certificate and its PEM private key.
type pemPair struct{ cert, key []byte }

// selfSignedTLS makes a self-signed P-256 certificate for the loopback
// addresses and localhost plus names (host names or IP addresses).
func selfSignedTLS(commonName string, names []string, lifetime time.Duration) (pemPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pemPair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return pemPair{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		// Self-signed: the certificate is its own trust anchor.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" && n != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return pemPair{}, fmt.Errorf("tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return pemPair{}, fmt.Errorf("tls: %w", err)
	}
	return pemPair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}
