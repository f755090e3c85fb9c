package slackreview

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bastion-ssh/bastion/store"
)

// maxCommandShown bounds the command text in a message; Slack refuses a
// section text over 3000 characters.
const maxCommandShown = 2500

// requestMessage is the Block Kit message for a new request: what would
// run, who asks, where, why, under which rule, until when, and the two
// buttons. The command is already masked by the caller.
func requestMessage(a store.Approval) *slack.WebhookMessage {
	text := fmt.Sprintf("bastion: %s asks to run a command on %s@%s (request %s)", a.Requester, a.Login, a.Target, a.ID)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("Command held for review: " + a.ID)),
		slack.NewSectionBlock(mrkdwn("```"+escape(clip(a.Command, maxCommandShown))+"```"), nil, nil),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Requester*\n" + escape(a.Requester)),
			mrkdwn("*Target*\n" + escape(a.Login+"@"+a.Target)),
			mrkdwn("*Rule*\n" + escape(a.Rule)),
			mrkdwn(fmt.Sprintf("*Approvals needed*\n%d of %s", a.Needed, escape(strings.Join(a.Reviewers, ", ")))),
			mrkdwn("*Deadline*\n" + a.Deadline.UTC().Format(time.RFC3339)),
			mrkdwn("*Justification*\n" + escape(orNone(a.Justification))),
		}, nil),
		slack.NewActionBlock("decide",
			slack.NewButtonBlockElement(ActionApprove, a.ID, plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(ActionDeny, a.ID, plain("Deny")).WithStyle(slack.StyleDanger),
		),
	}
	return &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
}

// outcomeMessage replaces a request's message once a decision is taken:
// the same facts, the decisions so far, and no buttons while closed.
func outcomeMessage(a store.Approval) *slack.WebhookMessage {
	msg := requestMessage(a)
	var lines []string
	for _, d := range a.Decisions {
		verb := "denied"
		if d.Approve {
			verb = "approved"
		}
		lines = append(lines, fmt.Sprintf("%s by %s (%s): %s", verb, escape(d.Reviewer), d.Channel, escape(d.Reason)))
	}
	status := fmt.Sprintf("*%s*", strings.ToUpper(a.State))
	if len(lines) > 0 {
		status += "\n" + strings.Join(lines, "\n")
	}
	blocks := msg.Blocks.BlockSet
	if a.State != "pending" {
		blocks = blocks[:len(blocks)-1] // no buttons on a closed request
	}
	msg.Blocks.BlockSet = append(blocks, slack.NewSectionBlock(mrkdwn(status), nil, nil))
	msg.Text = fmt.Sprintf("bastion: request %s %s", a.ID, a.State)
	msg.ReplaceOriginal = true
	return msg
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, clip(s, 150), false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// escape makes text inert in mrkdwn: Slack's three control characters,
// and backticks so a command cannot close its code block.
func escape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'")
	return r.Replace(s)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func orNone(s string) string {
	if s == "" {
		return "(none given)"
	}
	return s
}
