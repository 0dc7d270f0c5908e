//! Commands as bash prints them back: in job notices (`[1]+  Done  ...`), `jobs`
//! and the notice of a command a signal killed. Bash prints its parse tree, not
//! what was typed (measured with bash 5.2):
//!
//! - words and assignments as written, one space between them;
//! - redirections as `> f`, `2> f`, `< f`, `1>&2`, `2>&-`, `0<> f`, `&> f`,
//!   `>&$x`: the fd only where it is not the operator's own, except for `<>` and
//!   a dup to a number or `-`, which always name it;
//! - `( list )`, `{ list; }`, `a && b`, `a | b`;
//! - the bodies of `while`, `until`, `for` and `if` on lines of their own, indented
//!   4 spaces a level, each ending with `;` (or ` &`), and `for i in a b;` with its
//!   `do` on the next line; `elif` as an `if` inside `else`.

use super::ast::{AndOr, AndOrOp, Command, Compound, List, Pipeline, RedirOp, Redirect};
use super::{SimpleCommand, Span};

/// A background job's text: a lone pipeline without its `!` (bash keeps the `!`
/// only inside an and-or list).
pub fn job_text(source: &str, and_or: &AndOr) -> String {
    let mut p = Printer::new(source);
    if and_or.rest.is_empty() {
        p.pipeline(&and_or.first, 0, false);
    } else {
        p.and_or(and_or, 0);
    }
    p.out
}

/// One command of a pipeline, as its process's line of a job notice shows it.
pub fn command_text(source: &str, command: &Command) -> String {
    let mut p = Printer::new(source);
    p.command(command, 0);
    p.out
}

pub fn simple_text(source: &str, command: &SimpleCommand) -> String {
    let mut p = Printer::new(source);
    p.simple(command);
    p.out
}

struct Printer<'a> {
    source: &'a str,
    out: String,
}

impl Printer<'_> {
    fn new(source: &str) -> Printer<'_> {
        Printer {
            source,
            out: String::new(),
        }
    }

    fn push(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn text(&mut self, span: Span) {
        self.out
            .push_str(self.source.get(span.start..span.end).unwrap_or(""));
    }

    fn newline(&mut self, indent: usize) {
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    /// `a; b & c`, on one line (nested bodies aside).
    fn list(&mut self, list: &List, indent: usize) {
        for (i, item) in list.items.iter().enumerate() {
            if i > 0 {
                self.push(if list.items[i - 1].background {
                    " & "
                } else {
                    "; "
                });
            }
            self.and_or(&item.and_or, indent);
        }
    }

    /// What ends a list inside braces or a body: `;`, or ` &` after a background job.
    fn terminator(&mut self, list: &List) {
        let background = list.items.last().is_some_and(|i| i.background);
        self.push(if background { " &" } else { ";" });
    }

    /// A body on lines of its own, one level in; then back at `indent`.
    fn body(&mut self, list: &List, indent: usize) {
        self.newline(indent + 4);
        self.list(list, indent + 4);
        self.terminator(list);
        self.newline(indent);
    }

    fn and_or(&mut self, and_or: &AndOr, indent: usize) {
        self.pipeline(&and_or.first, indent, true);
        for (op, pipeline) in &and_or.rest {
            self.push(match op {
                AndOrOp::And => " && ",
                AndOrOp::Or => " || ",
            });
            self.pipeline(pipeline, indent, true);
        }
    }

    fn pipeline(&mut self, pipeline: &Pipeline, indent: usize, bang: bool) {
        if bang && pipeline.negated {
            self.push("! ");
        }
        for (i, command) in pipeline.commands.iter().enumerate() {
            if i > 0 {
                self.push(" | ");
            }
            self.command(command, indent);
        }
    }

    fn command(&mut self, command: &Command, indent: usize) {
        match command {
            Command::Simple(simple) => self.simple(simple),
            Command::Compound {
                body, redirects, ..
            } => {
                self.compound(body, indent);
                for redirect in redirects {
                    self.push(" ");
                    self.redirect(redirect);
                }
            }
            Command::FunctionDef { span, .. } => self.text(*span),
        }
    }

    fn simple(&mut self, command: &SimpleCommand) {
        let spans = command.assignments.iter().map(|a| a.span);
        let spans = spans.chain(command.words.iter().map(|w| w.span));
        for (i, span) in spans.enumerate() {
            if i > 0 {
                self.push(" ");
            }
            self.text(span);
        }
        let mut first = command.assignments.is_empty() && command.words.is_empty();
        for redirect in &command.redirects {
            if !first {
                self.push(" ");
            }
            first = false;
            self.redirect(redirect);
        }
    }

    fn redirect(&mut self, redirect: &Redirect) {
        let fd = redirect.fd();
        let op = redirect.op;
        match op {
            RedirOp::DupRead | RedirOp::DupWrite => {
                // A number (`2`, `2-`) or `-` always has its fd; a word
                // (`>&$x`, `>&/dev/null`) only where it is not the operator's own.
                let span = redirect.target.span;
                let target = self.source.get(span.start..span.end).unwrap_or("");
                let number = target
                    .trim_end_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit());
                if number || fd != op.default_fd() {
                    self.push(&fd.to_string());
                }
                self.push(op.as_str());
                self.push(target);
                return;
            }
            RedirOp::ReadWrite => self.push(&fd.to_string()),
            RedirOp::WriteBoth | RedirOp::AppendBoth => {}
            _ if fd != op.default_fd() => self.push(&fd.to_string()),
            _ => {}
        }
        self.push(op.as_str());
        self.push(" ");
        self.text(redirect.target.span);
    }

    fn compound(&mut self, compound: &Compound, indent: usize) {
        match compound {
            Compound::BraceGroup(list) => {
                self.push("{ ");
                self.list(list, indent);
                self.terminator(list);
                self.push(" }");
            }
            Compound::Subshell(list) => {
                self.push("( ");
                self.list(list, indent);
                if list.items.last().is_some_and(|i| i.background) {
                    self.push(" &");
                }
                self.push(" )");
            }
            Compound::While { cond, body } | Compound::Until { cond, body } => {
                let keyword = match compound {
                    Compound::While { .. } => "while ",
                    _ => "until ",
                };
                self.push(keyword);
                self.list(cond, indent);
                self.push("; do");
                self.body(body, indent);
                self.push("done");
            }
            Compound::For { var, words, body } => {
                self.push("for ");
                self.push(var);
                self.push(" in ");
                match words {
                    Some(words) => {
                        for (i, word) in words.iter().enumerate() {
                            if i > 0 {
                                self.push(" ");
                            }
                            self.text(word.span);
                        }
                    }
                    None => self.push("\"$@\""),
                }
                self.push(";");
                self.newline(indent);
                self.push("do");
                self.body(body, indent);
                self.push("done");
            }
            Compound::If {
                branches,
                else_body,
            } => self.if_chain(branches, else_body.as_ref(), indent),
        }
    }

    /// `if c; then b; elif ...`: bash prints each `elif` as an `if` inside `else`.
    fn if_chain(&mut self, branches: &[(List, List)], else_body: Option<&List>, indent: usize) {
        let Some(((cond, then), rest)) = branches.split_first() else {
            return;
        };
        self.push("if ");
        self.list(cond, indent);
        self.push("; then");
        self.body(then, indent);
        if !rest.is_empty() {
            self.push("else");
            self.newline(indent + 4);
            self.if_chain(rest, else_body, indent + 4);
            self.push(";");
            self.newline(indent);
        } else if let Some(else_body) = else_body {
            self.push("else");
            self.body(else_body, indent);
        }
        self.push("fi");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programs::bash::syntax::parse;

    /// The text of the first job of `source`, as `jobs` shows it.
    fn job(source: &str) -> String {
        let script = parse(source).unwrap();
        job_text(source, &script.body.items[0].and_or)
    }

    // Each expectation is what bash 5.2's `jobs` printed for the same line.
    #[test]
    fn a_lone_pipeline_loses_its_bang_but_an_and_or_list_keeps_it() {
        assert_eq!(job("! sleep 9 | cat &"), "sleep 9 | cat");
        assert_eq!(job("! sleep 9 &"), "sleep 9");
        assert_eq!(job("! sleep 9 && echo a &"), "! sleep 9 && echo a");
    }

    #[test]
    fn redirections_name_the_fd_only_where_it_is_not_the_operators_own() {
        assert_eq!(
            job("sleep 9 >&- 1>/dev/null 0</dev/null 4<&3 2>>f &"),
            "sleep 9 1>&- > /dev/null < /dev/null 4<&3 2>> f"
        );
        assert_eq!(
            job("sleep 9 5>&1 >f2 &>/dev/null &"),
            "sleep 9 5>&1 > f2 &> /dev/null"
        );
    }

    #[test]
    fn a_dup_to_a_word_names_the_fd_only_where_it_is_not_the_operators_own() {
        // `>&FILE` is `&>FILE` spelled otherwise, printed as typed; a number or
        // `-` after `>&` or `<&` always has its fd.
        assert_eq!(job("sleep 5 >&/dev/null &"), "sleep 5 >&/dev/null");
        assert_eq!(
            job("sleep 9 >&$x <&$x 2>&$x 3>&/dev/null &"),
            "sleep 9 >&$x <&$x 2>&$x 3>&/dev/null"
        );
        assert_eq!(
            job("sleep 9 >&2 <&0 >&2- <&0- &"),
            "sleep 9 1>&2 0<&0 1>&2- 0<&0-"
        );
    }

    #[test]
    fn a_background_job_inside_braces_or_parentheses_keeps_its_ampersand() {
        assert_eq!(job("( sleep 9 & ) &"), "( sleep 9 & )");
        assert_eq!(job("{ sleep 9; echo a & } &"), "{ sleep 9; echo a & }");
        assert_eq!(
            job("while true; do sleep 9 & done >/dev/null &"),
            "while true; do\n    sleep 9 &\ndone > /dev/null"
        );
    }

    #[test]
    fn nested_bodies_indent_by_four_and_for_without_words_loops_over_the_arguments() {
        assert_eq!(
            job("for i in 1 2; do for j in 3; do sleep 9; done; done &"),
            "for i in 1 2;\ndo\n    for j in 3;\n    do\n        sleep 9;\n    done;\ndone"
        );
        assert_eq!(
            job("for i; do sleep 9; done &"),
            "for i in \"$@\";\ndo\n    sleep 9;\ndone"
        );
        assert_eq!(
            job("{ if sleep 9; then :; fi; echo c; } &"),
            "{ if sleep 9; then\n    :;\nfi; echo c; }"
        );
    }
}
