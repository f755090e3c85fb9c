// Package cmdjudge decides whether a shell command line may run: allow,
// hold for review, or deny, under a policy's commands section.
//
// The line is parsed as bash (mvdan.cc/sh/v3/syntax) and every simple
// command in it is judged: through pipes, lists, subshells, blocks,
// command and process substitutions, here-documents and function bodies,
// after quote removal and path stripping. Programs that run other programs
// (env, sudo, timeout, xargs, find -exec, ...) are unwrapped and the inner
// command judged too; shells given literal code have that code judged.
// The strictest part wins.
//
// What cannot be judged statically (eval, source, scripts and inline code
// for shells and interpreters, computed command names, history expansion,
// shadowing definitions, unparseable input) is held for review, never
// allowed, unless a rule names the program explicitly. The judge cannot
// see what a program does on its own: a compiled binary that deletes files
// is judged only by its name.
package cmdjudge
