//! A real subset of bash 5.2: [`syntax`] parses, [`interp`] runs.
//!
//! `bash -c SCRIPT` runs a script; `bash -i` (or plain `bash`) reads commands from
//! its terminal, one line at a time, as a playground terminal does.

pub mod interp;
pub mod syntax;

use crate::sys::{Sys, Task};

/// `bash -c SCRIPT [NAME [ARG...]]`.
pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let (source, name, positional) = match argv.get(1).map(String::as_str) {
            Some("-c") => match argv.get(2) {
                Some(s) => (
                    s.clone(),
                    argv.get(3).cloned().unwrap_or_else(|| "bash".to_string()),
                    argv.get(4..).map(<[String]>::to_vec).unwrap_or_default(),
                ),
                None => {
                    let _ = sys
                        .write(2, b"bash: -c: option requires an argument\n")
                        .await;
                    return 2;
                }
            },
            Some("-i") | None => {
                return interp::Shell::new(sys, String::new(), "bash".into(), Vec::new())
                    .run_interactive()
                    .await;
            }
            _ => {
                let _ = sys
                    .write(
                        2,
                        b"pipelab: only `bash -c SCRIPT` and `bash -i` are supported here\n",
                    )
                    .await;
                return 2;
            }
        };
        match syntax::parse(&source) {
            Ok(script) => {
                interp::Shell::new(sys, source, name, positional)
                    .run_script(script)
                    .await
            }
            Err(e) => {
                let _ = sys
                    .write(2, syntax_error_text(&e, &source, false).as_bytes())
                    .await;
                2
            }
        }
    })
}

/// What bash prints for a syntax error: in a `-c` script the message and the
/// offending line, both prefixed with `bash: -c: line N:`; typed at an interactive
/// shell, the message alone. A feature bash has and the simulator lacks gets the
/// message with a caret under it instead.
pub fn syntax_error_text(e: &syntax::SyntaxError, source: &str, interactive: bool) -> String {
    match e.message.strip_prefix("bash: ") {
        Some(_) if interactive => format!("{}\n", e.message),
        Some(msg) => {
            let line_text = source.lines().nth(e.line - 1).unwrap_or("");
            format!(
                "bash: -c: line {0}: {msg}\nbash: -c: line {0}: `{line_text}'\n",
                e.line
            )
        }
        None => format!("{}\n", e.render(source)),
    }
}
