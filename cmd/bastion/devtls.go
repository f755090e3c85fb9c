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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "bastion dev"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(devTLSLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		// Self-signed: the certificate is its own trust anchor.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("dev tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("dev tls: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
