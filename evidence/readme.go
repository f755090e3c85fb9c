package evidence

// readme is README.txt: what the bundle is and how to check it.
const readme = `bastion evidence bundle

This archive holds sessions recorded by a bastion SSH gateway, their audit
events and the proofs that none of it was altered or removed.

To check it, on any machine, with nothing but this file:

    bastion evidence verify THIS.tar [--key SIGNING_KEY.pub]

It checks MANIFEST.json's signature, every member against it, every
recording against its signed manifest and checkpoints, every session's
record in the signed session log (log/head) by its inclusion proof, and
the audit events (audit/events.jsonl) along the hash chain to a signed
checkpoint in the same log. Compare the signing key's fingerprint it prints
with the one the bastion's operators gave you, or pass that key as --key.

To browse: unpack the archive and open index.html in a browser. It needs
no network; each session's recording plays from sessions/ID/play.html.
report.json holds the same information for tools.
`
