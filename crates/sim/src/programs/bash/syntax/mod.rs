//! The bash grammar subset: lexer, AST and parser.
//!
//! [`parse`] turns a script into a [`Script`], or a [`SyntaxError`] worded as bash
//! words it (`bash: syntax error near unexpected token `done'`), with the span of the
//! offending token and a [`SyntaxError::render`] that points at it. It never panics,
//! on any input: the page feeds it whatever the learner types.
//!
//! What is accepted means what bash means by it:
//!
//! - words with `'...'`, `"..."`, `$'...'`, backslash escapes and line continuations,
//!   the quoting kept in the tree ([`WordPart`]) for the interpreter's expansion;
//! - `$name`, `${name}`, `$?` `$!` `$$` `$#` `$@` `$*` `$-`, `$0`..`$9`, `${10}`,
//!   `${name[*]}`, `${name[@]}`, `${name[expr]}`; `$(script)`; `$((expr))` with
//!   integer `+ - * / % **`, comparisons, `&& || !`, bitwise operators and variables;
//! - assignments (`x=1`, `x=1 cmd`), simple commands with redirections anywhere among
//!   the words (`<`, `>`, `>|`, `>>`, `<>`, `N<&M`, `N>&M`, `N>&-`, `&>`, `&>>`);
//! - pipelines with `!`, lists with `;` `&` newline `&&` `||` at bash's precedence;
//! - `{ }`, `( )`, `while`, `until`, `for`, `if`/`elif`/`else`, each with trailing
//!   redirections; function definitions `name() compound` and `function name`.
//!
//! What bash has and we do not (here-documents, here-strings, process substitution,
//! backquotes, `case`, `select`, `coproc`, `time`, `[[ ]]`, `(( ))`, arrays, `|&`,
//! `${x:-y}` and the other parameter operators) is rejected with an error that names
//! the feature: `pipelab: here-documents (<<) are not supported here`. Brace
//! expansion, `~` and globs stay literal text.
//!
//! Limits: [`MAX_SOURCE_BYTES`] of source, [`MAX_DEPTH`] levels of nesting and
//! [`MAX_ARITH_HEIGHT`] for arithmetic trees, so that arbitrary text cannot exhaust
//! memory or the stack (the page runs this in wasm, with a 1 MiB stack).
//!
//! Where we differ from bash, and how to lift it:
//!
//! - Bash parses `$((...))` and `${...}` only when it expands them, so their errors
//!   (`${}: bad substitution`, `1+: syntax error: operand expected`) come at run time;
//!   we report them, in bash's words, before running anything. Bash's `for 1 in` is
//!   likewise a run-time `not a valid identifier`. Lifting it would mean keeping the
//!   raw text in the tree and parsing it in the interpreter.
//! - `$((` always starts arithmetic, and `((` at a command start is always the
//!   (unsupported) arithmetic command; bash falls back to a subshell when the text is
//!   not an expression. Write the space: `$( (a) )`, `( (a) )`.
//! - `!` with no command, `for x in a; { ...; }` and `name[i]=v` parse in bash; here
//!   they are refused with a `pipelab:` message, as nothing in the lessons needs them.

mod arith;
mod ast;
mod lexer;
mod parser;
pub mod print;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use ast::*;

/// The longest script accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;

/// The deepest nesting accepted: compound commands, `$(...)`, `${...}` and
/// parentheses in arithmetic each count one level.
pub const MAX_DEPTH: usize = 48;

/// The tallest arithmetic expression tree accepted (`1+1+...` grows one level per
/// operator).
pub const MAX_ARITH_HEIGHT: usize = 100;

/// Parses a whole script, as `bash -c SCRIPT` would before running it.
pub fn parse(source: &str) -> Result<Script, SyntaxError> {
    if source.len() > MAX_SOURCE_BYTES {
        let start = floor_char_boundary(source, MAX_SOURCE_BYTES);
        return Err(SyntaxError::new(
            source,
            format!(
                "pipelab: the script is too long ({} bytes; the limit is {MAX_SOURCE_BYTES})",
                source.len()
            ),
            Span::new(start, source.len()),
        ));
    }
    parser::Parser::new(source, 0).parse_script()
}

/// A script bash would refuse to run, or one using a feature the simulator does not
/// have. `message` is what bash prints (without its `-c: line N:` prefix), or a
/// `pipelab:` message naming the unsupported feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntaxError {
    pub message: String,
    /// The offending token; empty at the end of the source for "unexpected end of file".
    pub span: Span,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column of `span.start`, in characters.
    pub column: usize,
}

impl SyntaxError {
    pub(crate) fn new(source: &str, message: impl Into<String>, span: Span) -> SyntaxError {
        // Clamped, so that a bad span from a bug can never make rendering panic.
        let end = span.end.min(source.len());
        let start = floor_char_boundary(source, span.start.min(end));
        let before = &source.as_bytes()[..start];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        SyntaxError {
            message: message.into(),
            span: Span::new(start, end),
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: 1 + source[line_start..start].chars().count(),
        }
    }

    /// Whether the source ends in the middle of a command (an open quote or
    /// parenthesis, a `while` with no `done`): more lines could finish it, so an
    /// interactive shell asks for them.
    pub fn is_unfinished(&self) -> bool {
        self.message == "bash: syntax error: unexpected end of file"
            || self
                .message
                .starts_with("bash: unexpected EOF while looking for matching")
    }

    /// The message, the source line and a caret line under the offending token:
    ///
    /// ```text
    /// bash: syntax error near unexpected token `|'
    /// nc -l -p 6000 | | nc 127.0.0.1 5000
    ///                 ^
    /// ```
    pub fn render(&self, source: &str) -> String {
        let start = floor_char_boundary(source, self.span.start.min(source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line = &source[line_start..line_end];
        // Tabs are kept so that the caret lines up under the same tab stops.
        let pad: String = source[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let end = floor_char_boundary(source, self.span.end.clamp(start, line_end));
        let width = source[start..end].chars().count().max(1);
        format!("{}\n{line}\n{pad}{}", self.message, "^".repeat(width))
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for SyntaxError {}

/// The largest char boundary at or before `i` (`str::floor_char_boundary` is unstable).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
