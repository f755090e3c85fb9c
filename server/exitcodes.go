package server

// Exit statuses the bastion itself reports to the client, each a distinct
// reason so a script or agent can branch on it. They are documented in the
// README; keep them stable. A command that ran on the target keeps its own
// exit status, passed through unchanged.
const (
	ExitAccessDenied       = 240 // policy does not allow this identity LOGIN@TARGET
	ExitUnknownTarget      = 241 // no target by that name
	ExitBadUsername        = 242 // the SSH user name is not LOGIN@TARGET or TARGET
	ExitTargetUnreachable  = 243 // the target did not answer in time
	ExitHostKeyMismatch    = 244 // the target's host key failed verification
	ExitUpstreamAuth       = 245 // the target refused the bastion's credential
	ExitRecordingFailed    = 246 // the recording or an audit record could not be written: fail closed
	ExitInternal           = 247 // audit store unavailable or another internal error
	ExitUnsupported        = 248 // the request type is not supported through the bastion
	ExitCertificateRevoked = 249 // the certificate was revoked
	ExitCertificateExpired = 250 // the certificate expired
	ExitProtocolViolation  = 251 // an sftp stream was not well-formed SFTP
	ExitCommandDenied      = 252 // the command was denied (or not approved) by the command rules
	ExitServerShutdown     = 253 // the bastion shut down while the session ran
	ExitIdleTimeout        = 254 // the connection carried no traffic for the idle timeout
	ExitCommandHeld        = 236 // the command is held for review; BASTION_WAIT=0 returned at once
	ExitReviewDenied       = 239 // a reviewer denied the held command
	ExitReviewExpired      = 238 // no decision on the held command before its deadline
	ExitRequestRefused     = 237 // BASTION_REQUEST named a request that is not approved, used, or another command's
)

// Exit statuses from ExitLowest to ExitHighest are the bastion's own; a
// command that ran on the target and exited with one of them is
// indistinguishable, which is why the range sits just below ssh's 255.
const (
	ExitLowest  = ExitCommandHeld
	ExitHighest = ExitIdleTimeout
)

// IsBastionStatus reports whether code is one of the bastion's own exit
// statuses rather than a status the target's command returned.
func IsBastionStatus(code int) bool { return code >= ExitLowest && code <= ExitHighest }
