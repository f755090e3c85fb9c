package main

import (
	"context"
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

// recordingStore keeps the events it is given.
type recordingStore struct {
	events []store.Event
}

func (r *recordingStore) Audit(_ context.Context, e store.Event) error {
	r.events = append(r.events, e)
	return nil
}
func (r *recordingStore) CreateSession(context.Context, store.Session) error         { return nil }
func (r *recordingStore) EndSession(context.Context, string, store.SessionEnd) error { return nil }

// Identifiers the bastion generates are evidence, not free text: a
// certificate serial that happens to pass as a card number stays as it is,
// while a value in free text beside it is still masked.
func TestMaskedStoreKeepsGeneratedIdentifiers(t *testing.T) {
	next := &recordingStore{}
	s := &maskedStore{next: next, m: auditMasker(make([]byte, 32))}
	const serial = "4111111111111111111" // Luhn-valid, 19 digits
	const digest = "4111111111111111" + "0123456789abcdef0123456789abcdef0123456789abcdef"
	err := s.Audit(t.Context(), store.Event{Type: "cert.issue", Identity: "a@example.com", Detail: map[string]any{
		"serial": serial, "sha256_up": digest, "fingerprint": "SHA256:abc", "token_id": "123-45-6789",
		"reason": "card 4111 1111 1111 1111",
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := next.events[0].Detail
	if d["serial"] != serial || d["sha256_up"] != digest || d["token_id"] != "123-45-6789" {
		t.Errorf("generated identifiers changed: %v", d)
	}
	if d["reason"] == "card 4111 1111 1111 1111" {
		t.Errorf("free text beside them was not masked: %v", d["reason"])
	}
}
