package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func cmdMan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("man", "man --dir DIR", stdout)
	dir := fs.String("dir", "", "directory to write bastion.1 and bastion-COMMAND.1 into (required)")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if *dir == "" {
		return usagef("man: --dir DIR is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	docs := describeCommands()
	pages := map[string]string{"bastion.1": mainPage(docs)}
	for _, d := range docs {
		pages["bastion-"+strings.Join(d.Path, "-")+".1"] = commandPage(d)
	}
	for name, text := range pages {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d man pages in %s\n", len(pages), *dir)
	return nil
}

// roff escapes text for a man page: backslashes, and a leading dot or
// quote that roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func pageHeader(name, summary string) string {
	// The date is the commit's, so that the same source makes the same page.
	b := readBuildInfo()
	date, _, _ := strings.Cut(b.BuildTime, "T")
	return fmt.Sprintf(".TH %s 1 %q \"bastion %s\" \"bastion manual\"\n.SH NAME\n%s \\- %s\n",
		strings.ToUpper(name), date, b.Version, roff(name), roff(summary))
}

func mainPage(docs []commandDoc) string {
	var b strings.Builder
	b.WriteString(pageHeader("bastion", "SSH gateway with short-lived certificates, recorded sessions and audited decisions"))
	b.WriteString(".SH SYNOPSIS\n.B bastion\n.I COMMAND\n[flags]\n.SH COMMANDS\n")
	for _, d := range docs {
		if len(d.Path) == 1 {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s (see \\fBbastion\\-%s\\fR(1))\n", roff(d.Name()), roff(d.Summary), roff(d.Path[0]))
		}
	}
	b.WriteString(".SH EXIT STATUS\n0 on success, 1 on failure (the message is on standard error), 2 on a usage error.\n")
	b.WriteString(".SH FILES\n.TP\n.I /etc/bastion/config.yaml\nthe configuration (\\fBbastion init\\fR writes it)\n.TP\n.I /var/lib/bastion\nthe database and recordings\n")
	b.WriteString(".SH SEE ALSO\n\\fBssh\\fR(1), \\fBsshd_config\\fR(5)\n")
	return b.String()
}

func commandPage(d commandDoc) string {
	var b strings.Builder
	summary := d.Summary
	if summary == "" {
		summary = "subcommand of bastion " + d.Path[0]
	}
	b.WriteString(pageHeader("bastion-"+strings.Join(d.Path, "-"), summary))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.nf\n%s\n.fi\n", roff(strings.TrimPrefix(firstParagraph(d.Help), "usage: ")))
	if len(d.Flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, f := range d.Flags {
			arg := ""
			if takesValue(f) {
				arg = " \\fI" + roff(strings.ToUpper(f.Name)) + "\\fR"
			}
			def := ""
			if takesValue(f) && f.DefValue != "" && f.DefValue != "0" {
				def = " (default: " + roff(f.DefValue) + ")"
			}
			fmt.Fprintf(&b, ".TP\n.B \\-\\-%s%s\n%s%s\n", roff(f.Name), arg, roff(f.Usage), def)
		}
	} else if rest := restParagraphs(d.Help); rest != "" {
		fmt.Fprintf(&b, ".SH DESCRIPTION\n.nf\n%s\n.fi\n", roff(rest))
	}
	b.WriteString(".SH SEE ALSO\n\\fBbastion\\fR(1)\n")
	return b.String()
}

func firstParagraph(s string) string {
	p, _, _ := strings.Cut(s, "\n\n")
	return p
}

func restParagraphs(s string) string {
	_, rest, _ := strings.Cut(s, "\n\n")
	return strings.TrimSpace(rest)
}
