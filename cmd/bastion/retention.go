package main

// retentionDeleteEvent is the audit event of one recording deleted by
// retention.
const retentionDeleteEvent = "retention.delete"
