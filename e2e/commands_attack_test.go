package e2e

import "testing"

// A request id is free text from the client (BASTION_REQUEST, the desk's
// ID argument): PHI typed there is masked in the audit trail like any
// other field, though the approvals broker writes its own events.
func TestRequestIDAttackPHINotAtRest(t *testing.T) {
	rg := newReviewGateway(t)
	const ssn = "123-45-6789"
	if r := rg.ssh(t, rg.alice, "root@target", "-o", "SetEnv=BASTION_REQUEST="+ssn, "uptime"); r.code != exitRequestRefused {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	if r := rg.desk(t, rg.carol, "approve", ssn, "--reason", "checked"); r.code == 0 {
		t.Fatalf("the desk approved an unknown request: %q", r.stdout)
	}
	rg.waitAudit(t, "approval.refuse", "")
	rg.assertNothingAtRest(t, []string{ssn})
}
