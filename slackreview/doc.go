// Package slackreview brings held commands to reviewers in Slack and takes
// their decisions back.
//
// Each request is posted to an incoming webhook as a Block Kit message with
// Approve and Deny buttons (Poster). A button press arrives at Slack's
// interactivity endpoint (Handler): the X-Slack-Signature is verified
// before anything is parsed, a replay is refused, the Slack user is mapped
// to a reviewer identity, and the decision goes through package approvals,
// which enforces who may decide. The message is then updated through the
// payload's response_url. If Slack cannot be reached, requests stay
// decidable from the CLI.
//
// References: https://api.slack.com/authentication/verifying-requests-from-slack
// (signing), https://api.slack.com/interactivity/handling (payloads,
// response_url, the 3-second acknowledgement).
package slackreview
