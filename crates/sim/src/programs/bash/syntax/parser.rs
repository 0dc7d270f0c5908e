//! Recursive descent over the tokens of [`super::lexer`], following the grammar in
//! bash's `parse.y` for the subset we have.
//!
//! Reserved words are lexed as plain words and recognized here, only where a command
//! may start, as bash does: `echo done` is a command with an argument, `done` alone is
//! a syntax error.

use super::ast::*;
use super::lexer::{Op, Tok, Token};
use super::{MAX_DEPTH, SyntaxError};

pub(crate) type PResult<T> = Result<T, SyntaxError>;

/// Words that end a list when they stand where a command would start.
const LIST_TERMINATORS: &[&str] = &["then", "elif", "else", "fi", "do", "done", "}", "esac"];

/// Bash keywords we do not have, with the name the error gives them.
const UNSUPPORTED_KEYWORDS: &[(&str, &str)] = &[
    ("case", "`case'"),
    ("select", "`select'"),
    ("coproc", "`coproc'"),
    ("time", "`time'"),
    ("[[", "the `[[ ... ]]' test command"),
];

/// The parser, which also owns the lexer's position: `$(...)` inside a word is parsed
/// by a nested `Parser` over the same source, so lexing and parsing interleave.
pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    pub(crate) pos: usize,
    pub(crate) peeked: Option<Token>,
    pub(crate) depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, pos: usize) -> Parser<'a> {
        Parser {
            src,
            pos,
            peeked: None,
            depth: 0,
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError::new(self.src, message, span)
    }

    pub(crate) fn unsupported(&self, what: &str, span: Span) -> SyntaxError {
        self.error(format!("pipelab: {what} here"), span)
    }

    /// Bash's error for a token that cannot stand where it is.
    pub(crate) fn unexpected(&self, tok: &Token) -> SyntaxError {
        match &tok.kind {
            Tok::Eof => self.error("bash: syntax error: unexpected end of file", tok.span),
            Tok::Newline => self.unexpected_newline(tok.span),
            _ => {
                let mut text = &self.src[tok.span.start..tok.span.end];
                let mut span = tok.span;
                // Bash lexes the fd of `2>` as a token of its own and names that.
                if let Tok::Redir { fd: Some(_), .. } = tok.kind {
                    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
                    text = &text[..digits];
                    span = Span::new(span.start, span.start + digits);
                }
                self.error(
                    format!("bash: syntax error near unexpected token `{text}'"),
                    span,
                )
            }
        }
    }

    /// As [`Parser::unexpected`], where the grammar wants one more token on the line:
    /// at the end of input bash has read the newline it adds to `-c` scripts.
    fn unexpected_on_line(&self, tok: &Token) -> SyntaxError {
        match tok.kind {
            // ... unless a line continuation swallowed the last newline.
            Tok::Eof if !self.src.ends_with("\\\n") => self.unexpected_newline(tok.span),
            _ => self.unexpected(tok),
        }
    }

    fn unexpected_newline(&self, span: Span) -> SyntaxError {
        self.error("bash: syntax error near unexpected token `newline'", span)
    }

    /// One level deeper; every recursion goes through here, so nesting is bounded.
    pub(crate) fn enter(&mut self, span: Span) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                format!("pipelab: nesting is too deep (the limit is {MAX_DEPTH} levels)"),
                span,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- tokens ----

    pub(crate) fn peek(&mut self) -> PResult<&Token> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lex_token()?,
        };
        Ok(self.peeked.insert(tok))
    }

    pub(crate) fn next(&mut self) -> PResult<Token> {
        match self.peeked.take() {
            Some(tok) => Ok(tok),
            None => self.lex_token(),
        }
    }

    fn peek_is_op(&mut self, op: Op) -> PResult<bool> {
        Ok(matches!(self.peek()?.kind, Tok::Op(o) if o == op))
    }

    /// The next token's text if it is an unquoted word, which could be reserved.
    fn peek_reserved(&mut self) -> PResult<Option<&str>> {
        Ok(match &self.peek()?.kind {
            Tok::Word(w) => w.unquoted_text(),
            _ => None,
        })
    }

    fn peek_is_reserved(&mut self, word: &str) -> PResult<bool> {
        Ok(self.peek_reserved()? == Some(word))
    }

    fn skip_newlines(&mut self) -> PResult<()> {
        while matches!(self.peek()?.kind, Tok::Newline) {
            self.next()?;
        }
        Ok(())
    }

    fn expect_reserved(&mut self, word: &str) -> PResult<Span> {
        let tok = self.next()?;
        match &tok.kind {
            Tok::Word(w) if w.unquoted_text() == Some(word) => Ok(tok.span),
            _ => Err(self.unexpected(&tok)),
        }
    }

    fn peek_span(&mut self) -> PResult<Span> {
        Ok(self.peek()?.span)
    }

    // ---- lists ----

    pub(crate) fn parse_script(mut self) -> PResult<Script> {
        let body = self.parse_list()?;
        let tok = self.next()?;
        if !matches!(tok.kind, Tok::Eof) {
            return Err(self.unexpected(&tok));
        }
        Ok(Script {
            body,
            span: Span::new(0, self.src.len()),
        })
    }

    /// Whether the next token ends a list: end of input, `)`, or a reserved word such
    /// as `done` where a command would start.
    fn at_list_end(&mut self) -> PResult<bool> {
        if matches!(self.peek()?.kind, Tok::Eof | Tok::Op(Op::RParen)) {
            return Ok(true);
        }
        Ok(self
            .peek_reserved()?
            .is_some_and(|w| LIST_TERMINATORS.contains(&w)))
    }

    /// `and_or ((';' | '&' | newline) and_or)*`, stopping before whatever ends it,
    /// which the caller checks.
    pub(crate) fn parse_list(&mut self) -> PResult<List> {
        let mut items: Vec<ListItem> = Vec::new();
        loop {
            self.skip_newlines()?;
            if self.at_list_end()? {
                break;
            }
            let and_or = self.parse_and_or()?;
            let mut span = and_or.span;
            let tok = self.peek()?;
            let background = match tok.kind {
                Tok::Op(Op::Semi) | Tok::Newline => {
                    let t = self.next()?;
                    if matches!(t.kind, Tok::Op(Op::Semi)) {
                        span = span.to(t.span);
                    }
                    false
                }
                Tok::Op(Op::Amp) => {
                    span = span.to(self.next()?.span);
                    true
                }
                _ => {
                    if !self.at_list_end()? {
                        let tok = self.next()?;
                        return Err(self.unexpected(&tok));
                    }
                    false
                }
            };
            items.push(ListItem {
                and_or,
                background,
                span,
            });
        }
        let span = match (items.first(), items.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => {
                let at = self.peek_span()?.start;
                Span::new(at, at)
            }
        };
        Ok(List { items, span })
    }

    /// A list that must not be empty: the body of a compound command.
    fn parse_body(&mut self) -> PResult<List> {
        let list = self.parse_list()?;
        if list.items.is_empty() {
            let tok = self.next()?;
            return Err(self.unexpected(&tok));
        }
        Ok(list)
    }

    fn parse_and_or(&mut self) -> PResult<AndOr> {
        let first = self.parse_pipeline()?;
        let mut span = first.span;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Tok::Op(Op::AndIf) => AndOrOp::And,
                Tok::Op(Op::OrIf) => AndOrOp::Or,
                _ => break,
            };
            self.next()?;
            self.skip_newlines()?;
            let pipeline = self.parse_pipeline()?;
            span = span.to(pipeline.span);
            rest.push((op, pipeline));
        }
        Ok(AndOr { first, rest, span })
    }

    fn parse_pipeline(&mut self) -> PResult<Pipeline> {
        let start = self.peek_span()?;
        let mut negated = false;
        while self.peek_is_reserved("!")? {
            let bang = self.next()?;
            negated = !negated;
            if matches!(
                self.peek()?.kind,
                Tok::Eof | Tok::Newline | Tok::Op(Op::Semi | Op::Amp | Op::RParen)
            ) {
                return Err(
                    self.unsupported("`!' with no command after it is not supported", bang.span)
                );
            }
        }
        let mut commands = vec![self.parse_command()?];
        while self.peek_is_op(Op::Pipe)? {
            self.next()?;
            self.skip_newlines()?;
            commands.push(self.parse_command()?);
        }
        let end = commands.last().map_or(start, Command::span);
        Ok(Pipeline {
            negated,
            commands,
            span: start.to(end),
        })
    }

    // ---- commands ----

    fn parse_command(&mut self) -> PResult<Command> {
        let tok = self.peek()?;
        let span = tok.span;
        match &tok.kind {
            Tok::Word(w) => {
                if let Some(text) = w.unquoted_text() {
                    match text {
                        "{" | "if" | "while" | "until" | "for" => {
                            return self.parse_compound_command();
                        }
                        "function" => return self.parse_function_keyword(),
                        "!" | "in" => {
                            let tok = self.next()?;
                            return Err(self.unexpected(&tok));
                        }
                        t if LIST_TERMINATORS.contains(&t) => {
                            let tok = self.next()?;
                            return Err(self.unexpected(&tok));
                        }
                        t => {
                            if let Some((_, what)) =
                                UNSUPPORTED_KEYWORDS.iter().find(|(k, _)| *k == t)
                            {
                                return Err(
                                    self.unsupported(&format!("{what} is not supported"), span)
                                );
                            }
                        }
                    }
                }
                self.parse_simple_command()
            }
            Tok::Redir { .. } => self.parse_simple_command(),
            Tok::Op(Op::LParen) => self.parse_compound_command(),
            _ => {
                let tok = self.next()?;
                Err(self.unexpected(&tok))
            }
        }
    }

    /// Whether a `(` token is the start of `((`, bash's arithmetic command.
    fn is_double_paren(&self, lparen: Span) -> bool {
        self.src.as_bytes().get(lparen.end) == Some(&b'(')
    }

    /// A compound command and the redirections after it.
    fn parse_compound_command(&mut self) -> PResult<Command> {
        let start = self.peek_span()?;
        self.enter(start)?;
        let body = self.parse_compound(start);
        self.leave();
        let (body, end) = body?;
        let mut span = start.to(end);
        let mut redirects = Vec::new();
        while matches!(self.peek()?.kind, Tok::Redir { .. }) {
            let r = self.parse_redirect()?;
            span = span.to(r.span);
            redirects.push(r);
        }
        // After a redirection a word is not in command position, so not even
        // `do` or `then` is a reserved word there: `while { a; } > f do` is an
        // error in bash, where `while { a; } do` is not.
        if !redirects.is_empty() && matches!(self.peek()?.kind, Tok::Word(_)) {
            let tok = self.next()?;
            return Err(self.unexpected(&tok));
        }
        Ok(Command::Compound {
            body,
            redirects,
            span,
        })
    }

    fn parse_compound(&mut self, start: Span) -> PResult<(Compound, Span)> {
        let tok = self.next()?;
        if matches!(tok.kind, Tok::Op(Op::LParen)) {
            if self.is_double_paren(tok.span) {
                return Err(
                    self.unsupported("the arithmetic command ((...)) is not supported", tok.span)
                );
            }
            let body = self.parse_body()?;
            let close = self.next()?;
            if !matches!(close.kind, Tok::Op(Op::RParen)) {
                return Err(self.unexpected(&close));
            }
            return Ok((Compound::Subshell(body), close.span));
        }
        let keyword = match &tok.kind {
            Tok::Word(w) => w.unquoted_text().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        match keyword.as_str() {
            "{" => {
                let body = self.parse_body()?;
                let end = self.expect_reserved("}")?;
                Ok((Compound::BraceGroup(body), end))
            }
            "while" | "until" => {
                let cond = self.parse_body()?;
                self.expect_reserved("do")?;
                let body = self.parse_body()?;
                let end = self.expect_reserved("done")?;
                let compound = if keyword == "while" {
                    Compound::While { cond, body }
                } else {
                    Compound::Until { cond, body }
                };
                Ok((compound, end))
            }
            "if" => self.parse_if(),
            "for" => self.parse_for(),
            _ => Err(self.error(
                "pipelab: internal error: not a compound command",
                start.to(tok.span),
            )),
        }
    }

    /// After `if`: `list then list (elif list then list)* [else list] fi`.
    fn parse_if(&mut self) -> PResult<(Compound, Span)> {
        let mut branches = Vec::new();
        let mut else_body = None;
        loop {
            let cond = self.parse_body()?;
            self.expect_reserved("then")?;
            let body = self.parse_body()?;
            branches.push((cond, body));
            let tok = self.next()?;
            match &tok.kind {
                Tok::Word(w) if w.unquoted_text() == Some("elif") => continue,
                Tok::Word(w) if w.unquoted_text() == Some("else") => {
                    else_body = Some(self.parse_body()?);
                    let end = self.expect_reserved("fi")?;
                    return Ok((
                        Compound::If {
                            branches,
                            else_body,
                        },
                        end,
                    ));
                }
                Tok::Word(w) if w.unquoted_text() == Some("fi") => {
                    return Ok((
                        Compound::If {
                            branches,
                            else_body,
                        },
                        tok.span,
                    ));
                }
                _ => return Err(self.unexpected(&tok)),
            }
        }
    }

    /// After `for`: `name [in words] (';' | newline) do list done`, or `name; do`.
    fn parse_for(&mut self) -> PResult<(Compound, Span)> {
        let tok = self.next()?;
        let var = match &tok.kind {
            Tok::Word(w) => {
                let text = &self.src[tok.span.start..tok.span.end];
                match w.unquoted_text() {
                    Some(name) if is_name(name) => name.to_owned(),
                    _ => {
                        return Err(
                            self.error(format!("bash: `{text}': not a valid identifier"), tok.span)
                        );
                    }
                }
            }
            Tok::Op(Op::LParen) if self.is_double_paren(tok.span) => {
                return Err(self.unsupported(
                    "the arithmetic for loop for ((...)) is not supported",
                    tok.span,
                ));
            }
            _ => return Err(self.unexpected_on_line(&tok)),
        };
        self.skip_newlines()?;
        let words = if self.peek_is_reserved("in")? {
            self.next()?;
            let mut words = Vec::new();
            while let Tok::Word(_) = self.peek()?.kind {
                if let Tok::Word(w) = self.next()?.kind {
                    words.push(w);
                }
            }
            let tok = self.next()?;
            if !matches!(tok.kind, Tok::Op(Op::Semi) | Tok::Newline) {
                return Err(self.unexpected(&tok));
            }
            Some(words)
        } else {
            if self.peek_is_op(Op::Semi)? {
                self.next()?;
            }
            None
        };
        self.skip_newlines()?;
        if self.peek_is_reserved("{")? {
            let span = self.peek_span()?;
            return Err(self.unsupported(
                "a `for' body in { } instead of do ... done is not supported",
                span,
            ));
        }
        self.expect_reserved("do")?;
        let body = self.parse_body()?;
        let end = self.expect_reserved("done")?;
        Ok((Compound::For { var, words, body }, end))
    }

    /// `function name [()] compound`
    fn parse_function_keyword(&mut self) -> PResult<Command> {
        let keyword = self.next()?;
        let tok = self.next()?;
        let name = match &tok.kind {
            Tok::Word(w) => match w.unquoted_text() {
                Some(name) => name.to_owned(),
                None => {
                    let text = &self.src[tok.span.start..tok.span.end];
                    return Err(
                        self.error(format!("bash: `{text}': not a valid identifier"), tok.span)
                    );
                }
            },
            _ => return Err(self.unexpected_on_line(&tok)),
        };
        // `function f ( a )` is a function whose body is a subshell: `()` is only the
        // empty pair. Lexing has no side effects, so looking two ahead is a rewind.
        if self.peek_is_op(Op::LParen)? {
            let saved = (self.pos, self.peeked.clone());
            self.next()?;
            if self.peek_is_op(Op::RParen)? {
                self.next()?;
            } else {
                (self.pos, self.peeked) = saved;
            }
        }
        self.parse_function_body(name, keyword.span)
    }

    /// The compound command of a function definition, after `name()`.
    fn parse_function_body(&mut self, name: String, start: Span) -> PResult<Command> {
        self.skip_newlines()?;
        let is_compound = match &self.peek()?.kind {
            Tok::Op(Op::LParen) => true,
            // `case`, `select` and `[[` are compound commands we do not have:
            // parse_command names them.
            Tok::Word(w) => matches!(
                w.unquoted_text(),
                Some("{" | "if" | "while" | "until" | "for" | "case" | "select" | "[[")
            ),
            _ => false,
        };
        if !is_compound {
            let tok = self.next()?;
            return Err(self.unexpected(&tok));
        }
        let body = self.parse_command()?;
        let span = start.to(body.span());
        Ok(Command::FunctionDef {
            name,
            body: Box::new(body),
            span,
        })
    }

    fn parse_simple_command(&mut self) -> PResult<Command> {
        let start = self.peek_span()?;
        let mut end = start;
        let mut assignments = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut redirects = Vec::new();
        loop {
            match &self.peek()?.kind {
                Tok::Redir { .. } => {
                    let r = self.parse_redirect()?;
                    end = r.span;
                    redirects.push(r);
                }
                Tok::Word(_) => {
                    let tok = self.next()?;
                    let Tok::Word(word) = tok.kind else {
                        return Err(self.unexpected(&tok));
                    };
                    end = word.span;
                    if words.is_empty() {
                        if let Some(a) = self.assignment(&word)? {
                            assignments.push(a);
                            continue;
                        }
                        if assignments.is_empty()
                            && redirects.is_empty()
                            && self.peek_is_op(Op::LParen)?
                        {
                            return self.parse_function_def(word);
                        }
                    }
                    words.push(word);
                }
                _ => break,
            }
        }
        Ok(Command::Simple(SimpleCommand {
            assignments,
            words,
            redirects,
            span: start.to(end),
        }))
    }

    /// `name ( )` has been seen up to the `(`.
    fn parse_function_def(&mut self, word: Word) -> PResult<Command> {
        self.next()?;
        let close = self.next()?;
        if !matches!(close.kind, Tok::Op(Op::RParen)) {
            return Err(self.unexpected_on_line(&close));
        }
        // Bash checks the name only once the whole definition has parsed.
        let def = self.parse_function_body(String::new(), word.span)?;
        let Some(name) = word.unquoted_text() else {
            let text = &self.src[word.span.start..word.span.end];
            return Err(self.error(format!("bash: `{text}': not a valid identifier"), word.span));
        };
        match def {
            Command::FunctionDef { body, span, .. } => Ok(Command::FunctionDef {
                name: name.to_owned(),
                body,
                span,
            }),
            other => Ok(other),
        }
    }

    /// `name=value` in assignment position; `None` if the word is not one.
    fn assignment(&mut self, word: &Word) -> PResult<Option<Assignment>> {
        let Some(WordPart::Literal(first)) = word.parts.first() else {
            return Ok(None);
        };
        let Some(eq) = first.find('=') else {
            return Ok(None);
        };
        let name = &first[..eq];
        if !is_name(name) {
            let base = name.strip_suffix('+').unwrap_or(name);
            let array = base
                .split_once('[')
                .is_some_and(|(n, rest)| is_name(n) && rest.ends_with(']'));
            if array {
                return Err(self.unsupported("arrays are not supported", word.span));
            }
            if is_name(base) {
                return Err(self.unsupported("`+=' assignment is not supported", word.span));
            }
            return Ok(None);
        }
        let mut parts = Vec::new();
        if eq + 1 < first.len() {
            parts.push(WordPart::Literal(first[eq + 1..].to_owned()));
        }
        parts.extend(word.parts[1..].iter().cloned());
        if parts.is_empty()
            && self.peek_is_op(Op::LParen)?
            && self.peek_span()?.start == word.span.end
        {
            return Err(self.unsupported("arrays are not supported", word.span));
        }
        let value_start = (word.span.start + eq + 1).min(word.span.end);
        Ok(Some(Assignment {
            name: name.to_owned(),
            value: Word {
                parts,
                span: Span::new(value_start, word.span.end),
            },
            span: word.span,
        }))
    }

    fn parse_redirect(&mut self) -> PResult<Redirect> {
        let tok = self.next()?;
        let Tok::Redir { fd, op } = tok.kind else {
            return Err(self.unexpected(&tok));
        };
        let target = self.next()?;
        match target.kind {
            // After `<&` and `>&` bash's lexer returns a leading `-` alone: `>&-x` closes
            // stdout and `x` is the next word.
            Tok::Word(word)
                if matches!(op, RedirOp::DupRead | RedirOp::DupWrite)
                    && word.span.end > word.span.start + 1
                    && self.src[word.span.start..].starts_with('-') =>
            {
                let dash = Span::new(word.span.start, word.span.start + 1);
                (self.pos, self.peeked) = (dash.end, None);
                Ok(Redirect {
                    fd,
                    op,
                    span: tok.span.to(dash),
                    target: Word {
                        parts: vec![WordPart::Literal("-".into())],
                        span: dash,
                    },
                })
            }
            // `>& 2>f`: bash's lexer makes `2` a number token, which `>&` and `<&`
            // take as their fd; the operator after it starts the next redirection.
            Tok::Redir {
                fd: Some(n),
                op: next_op,
            } if matches!(op, RedirOp::DupRead | RedirOp::DupWrite) => {
                let text = &self.src[target.span.start..target.span.end];
                let digits = text.bytes().take_while(u8::is_ascii_digit).count();
                let fd_span = Span::new(target.span.start, target.span.start + digits);
                self.peeked = Some(Token {
                    kind: Tok::Redir {
                        fd: None,
                        op: next_op,
                    },
                    span: Span::new(fd_span.end, target.span.end),
                });
                Ok(Redirect {
                    fd,
                    op,
                    span: tok.span.to(fd_span),
                    target: Word {
                        parts: vec![WordPart::Literal(n.to_string())],
                        span: fd_span,
                    },
                })
            }
            Tok::Word(word) => Ok(Redirect {
                fd,
                op,
                span: tok.span.to(word.span),
                target: word,
            }),
            _ => Err(self.unexpected_on_line(&target)),
        }
    }
}

/// A shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
