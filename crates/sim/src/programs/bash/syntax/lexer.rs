//! Tokens: words (with their quoting and expansions parsed), operators, redirection
//! operators with their fd number, newlines.
//!
//! Backslash-newline is removed everywhere except inside single quotes and comments,
//! as bash's `shell_getc` does, so the reading helpers below skip it transparently.

use super::ast::*;
use super::parser::{PResult, Parser, is_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(Word),
    Op(Op),
    /// A redirection operator and the fd written right before it (`2>`).
    Redir {
        fd: Option<u32>,
        op: RedirOp,
    },
    Newline,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Pipe,
    OrIf,
    Amp,
    AndIf,
    Semi,
    /// `;;`, `;&`, `;;&`: only meaningful in `case`, so always an error here.
    CaseSep,
    LParen,
    RParen,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Characters that end an unquoted word.
fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '|' | '&' | ';' | '(' | ')' | '<' | '>'
    )
}

/// Appends to the last part if it is of the same kind, so `abc` is one part.
fn push_text(parts: &mut Vec<WordPart>, escaped: bool, c: char) {
    match (parts.last_mut(), escaped) {
        (Some(WordPart::Literal(s)), false) | (Some(WordPart::Escaped(s)), true) => s.push(c),
        _ => {
            let s = c.to_string();
            parts.push(if escaped {
                WordPart::Escaped(s)
            } else {
                WordPart::Literal(s)
            });
        }
    }
}

impl Parser<'_> {
    // ---- characters ----

    /// `p` moved past any backslash-newline pairs.
    fn skip_continuations(&self, mut p: usize) -> usize {
        let b = self.src.as_bytes();
        while b.get(p) == Some(&b'\\') && b.get(p + 1) == Some(&b'\n') {
            p += 2;
        }
        p
    }

    /// The position of the next character, past line continuations.
    pub(crate) fn here(&self) -> usize {
        self.skip_continuations(self.pos)
    }

    pub(crate) fn peek_char(&self) -> Option<char> {
        self.src[self.here()..].chars().next()
    }

    /// The character after [`Parser::peek_char`], past line continuations.
    pub(crate) fn peek_char2(&self) -> Option<char> {
        let p = self.here();
        let c = self.src[p..].chars().next()?;
        let q = self.skip_continuations(p + c.len_utf8());
        self.src[q..].chars().next()
    }

    pub(crate) fn bump_char(&mut self) -> Option<char> {
        let p = self.here();
        let c = self.src[p..].chars().next()?;
        self.pos = p + c.len_utf8();
        Some(c)
    }

    /// The next character exactly as written: inside single quotes and after a
    /// backslash, a newline is just a newline.
    fn bump_raw(&mut self) -> Option<char> {
        let c = self.src[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek_char() == Some(c) {
            self.bump_char();
            true
        } else {
            false
        }
    }

    // ---- tokens ----

    pub(crate) fn lex_token(&mut self) -> PResult<Token> {
        // Blanks and comments; a comment runs to the newline, backslash or not.
        loop {
            match self.peek_char() {
                Some(c) if is_blank(c) => {
                    self.bump_char();
                }
                Some('#') => {
                    self.pos = self.here();
                    while let Some(c) = self.src[self.pos..].chars().next() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += c.len_utf8();
                    }
                }
                _ => break,
            }
        }
        let start = self.here();
        let Some(c) = self.bump_char() else {
            return Ok(self.token(Tok::Eof, start));
        };
        let kind = match c {
            '\n' => Tok::Newline,
            '|' => {
                if self.eat('|') {
                    Tok::Op(Op::OrIf)
                } else if self.eat('&') {
                    return Err(self.unsupported(
                        "`|&' is not supported; write `2>&1 |'",
                        Span::new(start, self.pos),
                    ));
                } else {
                    Tok::Op(Op::Pipe)
                }
            }
            '&' => {
                if self.eat('&') {
                    Tok::Op(Op::AndIf)
                } else if self.eat('>') {
                    let op = if self.eat('>') {
                        RedirOp::AppendBoth
                    } else {
                        RedirOp::WriteBoth
                    };
                    Tok::Redir { fd: None, op }
                } else {
                    Tok::Op(Op::Amp)
                }
            }
            ';' => {
                if self.eat(';') {
                    self.eat('&');
                    Tok::Op(Op::CaseSep)
                } else if self.eat('&') {
                    Tok::Op(Op::CaseSep)
                } else {
                    Tok::Op(Op::Semi)
                }
            }
            '(' => Tok::Op(Op::LParen),
            ')' => Tok::Op(Op::RParen),
            '<' | '>' => {
                let op = self.lex_redir_op(c, start)?;
                Tok::Redir { fd: None, op }
            }
            _ => {
                self.pos = start;
                return self.lex_word_or_io_number(start);
            }
        };
        Ok(self.token(kind, start))
    }

    fn token(&self, kind: Tok, start: usize) -> Token {
        Token {
            kind,
            span: Span::new(start, self.pos.max(start)),
        }
    }

    /// The rest of a redirection operator whose first character `<` or `>` has been
    /// read.
    fn lex_redir_op(&mut self, first: char, start: usize) -> PResult<RedirOp> {
        if self.peek_char() == Some('(') {
            self.bump_char();
            return Err(self.unsupported(
                "process substitution is not supported",
                Span::new(start, self.pos),
            ));
        }
        Ok(if first == '<' {
            if self.eat('<') {
                let span_end = |p: &Parser<'_>| Span::new(start, p.pos);
                if self.eat('<') {
                    return Err(
                        self.unsupported("here-strings (<<<) are not supported", span_end(self))
                    );
                }
                self.eat('-');
                return Err(
                    self.unsupported("here-documents (<<) are not supported", span_end(self))
                );
            } else if self.eat('&') {
                RedirOp::DupRead
            } else if self.eat('>') {
                RedirOp::ReadWrite
            } else {
                RedirOp::Read
            }
        } else if self.eat('>') {
            RedirOp::Append
        } else if self.eat('&') {
            RedirOp::DupWrite
        } else if self.eat('|') {
            RedirOp::Clobber
        } else {
            RedirOp::Write
        })
    }

    /// A word, or the fd number of a redirection when digits stand right before `<`
    /// or `>` (`2>`).
    fn lex_word_or_io_number(&mut self, start: usize) -> PResult<Token> {
        let word = self.lex_word(start)?;
        let next = self.peek_char();
        if matches!(next, Some('<' | '>')) {
            if let Some(text) = word.unquoted_text() {
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    let Ok(fd) = text.parse::<u32>() else {
                        return Err(self.error(
                            format!("pipelab: file descriptor {text} is out of range"),
                            word.span,
                        ));
                    };
                    let op_start = self.here();
                    let first = self.bump_char().unwrap_or('>');
                    let op = self.lex_redir_op(first, op_start)?;
                    return Ok(self.token(Tok::Redir { fd: Some(fd), op }, start));
                }
                let named_fd = text
                    .strip_prefix('{')
                    .and_then(|t| t.strip_suffix('}'))
                    .is_some_and(is_name);
                if named_fd {
                    return Err(
                        self.unsupported("{varname} redirections are not supported", word.span)
                    );
                }
            }
        }
        Ok(Token {
            span: word.span,
            kind: Tok::Word(word),
        })
    }

    /// An unquoted word: literal text, quotes, escapes and `$` expansions, up to a
    /// blank or an operator character.
    pub(crate) fn lex_word(&mut self, start: usize) -> PResult<Word> {
        let mut parts: Vec<WordPart> = Vec::new();
        while let Some(c) = self.peek_char() {
            if is_meta(c) {
                break;
            }
            let at = self.here();
            match c {
                '\\' => {
                    self.pos = at + 1;
                    match self.bump_raw() {
                        Some(e) => push_text(&mut parts, true, e),
                        // A backslash at the very end stands for itself.
                        None => push_text(&mut parts, false, '\\'),
                    }
                }
                '\'' => {
                    self.bump_char();
                    let text = self.lex_single_quoted(at)?;
                    parts.push(WordPart::SingleQuoted(text));
                }
                '"' => {
                    self.bump_char();
                    let inner = self.lex_double_quoted(at)?;
                    parts.push(WordPart::DoubleQuoted(inner));
                }
                '$' => self.lex_dollar(&mut parts, false)?,
                '`' => return Err(self.backquote(at)),
                _ => {
                    self.bump_char();
                    push_text(&mut parts, false, c);
                }
            }
        }
        Ok(Word {
            parts,
            span: Span::new(start, self.pos.max(start)),
        })
    }

    fn backquote(&self, at: usize) -> super::SyntaxError {
        self.unsupported(
            "backquote command substitution is not supported; use $(...)",
            Span::new(at, at + 1),
        )
    }

    fn unterminated(&self, closing: &str, open: Span) -> super::SyntaxError {
        self.error(
            format!("bash: unexpected EOF while looking for matching `{closing}'"),
            open,
        )
    }

    /// After the opening `'`: everything up to the next `'`, as written.
    fn lex_single_quoted(&mut self, open: usize) -> PResult<String> {
        let rest = &self.src[self.pos..];
        match rest.find('\'') {
            Some(i) => {
                let text = rest[..i].to_owned();
                self.pos += i + 1;
                Ok(text)
            }
            None => Err(self.unterminated("'", Span::new(open, open + 1))),
        }
    }

    /// After the opening `"`: literal text and `$` expansions up to the closing `"`.
    /// A backslash quotes only `$`, `` ` ``, `"`, `\` and newline; before anything
    /// else it is literal.
    fn lex_double_quoted(&mut self, open: usize) -> PResult<Vec<WordPart>> {
        let mut parts = Vec::new();
        loop {
            let at = self.here();
            let Some(c) = self.peek_char() else {
                return Err(self.unterminated("\"", Span::new(open, open + 1)));
            };
            match c {
                '"' => {
                    self.bump_char();
                    return Ok(parts);
                }
                '\\' => {
                    self.pos = at + 1;
                    match self.bump_raw() {
                        Some(e @ ('$' | '`' | '"' | '\\')) => push_text(&mut parts, false, e),
                        Some(e) => {
                            push_text(&mut parts, false, '\\');
                            push_text(&mut parts, false, e);
                        }
                        None => return Err(self.unterminated("\"", Span::new(open, open + 1))),
                    }
                }
                '$' => self.lex_dollar(&mut parts, true)?,
                '`' => return Err(self.backquote(at)),
                _ => {
                    self.bump_char();
                    push_text(&mut parts, false, c);
                }
            }
        }
    }

    /// At a `$`: an expansion, or a literal `$` when nothing expandable follows.
    fn lex_dollar(&mut self, parts: &mut Vec<WordPart>, in_dquote: bool) -> PResult<()> {
        let start = self.here();
        self.bump_char();
        let Some(c) = self.peek_char() else {
            push_text(parts, false, '$');
            return Ok(());
        };
        match c {
            '(' if self.peek_char2() == Some('(') => {
                self.bump_char();
                self.bump_char();
                let arith = self.lex_arith_expansion(start)?;
                parts.push(WordPart::Arith(arith));
            }
            '(' => {
                self.bump_char();
                let script = self.lex_command_subst(start)?;
                parts.push(WordPart::CommandSubst(Box::new(script)));
            }
            '{' => {
                self.bump_char();
                let param = self.lex_braced_param(start)?;
                parts.push(WordPart::Param(param));
            }
            '[' => {
                return Err(self.unsupported(
                    "$[...] arithmetic is not supported; use $((...))",
                    Span::new(start, self.here() + 1),
                ));
            }
            '\'' if !in_dquote => {
                self.bump_char();
                let text = self.lex_ansi_c(start)?;
                parts.push(WordPart::SingleQuoted(text));
            }
            // `$"..."` is translated text; untranslated, as here, it is `"..."`.
            '"' if !in_dquote => {
                let open = self.here();
                self.bump_char();
                let inner = self.lex_double_quoted(open)?;
                parts.push(WordPart::DoubleQuoted(inner));
            }
            _ => match self.lex_param_name() {
                Some(param) => parts.push(WordPart::Param(ParamExp {
                    param,
                    span: Span::new(start, self.pos),
                })),
                None => push_text(parts, false, '$'),
            },
        }
        Ok(())
    }

    /// The name after an unbraced `$`: `$name`, `$1`, `$?`; `None` if there is none.
    pub(crate) fn lex_param_name(&mut self) -> Option<Param> {
        let c = self.peek_char()?;
        if c.is_ascii_alphabetic() || c == '_' {
            let mut name = String::new();
            while let Some(c) = self.peek_char() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                self.bump_char();
                name.push(c);
            }
            return Some(Param::Named(name));
        }
        if let Some(d) = c.to_digit(10) {
            self.bump_char();
            return Some(Param::Positional(d));
        }
        if matches!(c, '?' | '!' | '$' | '#' | '@' | '*' | '-') {
            self.bump_char();
            return Some(Param::Special(c));
        }
        None
    }

    /// After `$(`: a whole script, parsed by a nested parser, then `)`.
    fn lex_command_subst(&mut self, start: usize) -> PResult<Script> {
        let open = Span::new(start, self.pos);
        self.enter(open)?;
        let mut inner = Parser::new(self.src, self.pos);
        inner.depth = self.depth;
        let body = inner.parse_list();
        self.leave();
        // Bash reads to the matching `)` before it parses, so an unfinished command
        // inside is reported as the missing `)`.
        let body = body.map_err(|e| {
            if e.message == "bash: syntax error: unexpected end of file" {
                self.unterminated(")", open)
            } else {
                e
            }
        })?;
        let close = inner.next()?;
        match close.kind {
            Tok::Op(Op::RParen) => {}
            Tok::Eof => return Err(self.unterminated(")", open)),
            _ => return Err(inner.unexpected(&close)),
        }
        self.pos = close.span.end;
        Ok(Script {
            body,
            span: Span::new(open.end, close.span.start),
        })
    }

    /// After `${`: `name}`, `N}`, `?}` (and the other specials), `name[index]}`.
    pub(crate) fn lex_braced_param(&mut self, start: usize) -> PResult<ParamExp> {
        let open = Span::new(start, self.pos);
        self.enter(open)?;
        let param = self.lex_braced_param_inner(open);
        self.leave();
        Ok(ParamExp {
            param: param?,
            span: Span::new(start, self.pos),
        })
    }

    fn lex_braced_param_inner(&mut self, open: Span) -> PResult<Param> {
        let Some(c) = self.peek_char() else {
            return Err(self.unterminated("}", open));
        };
        let param = if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(d) = self.peek_char().filter(char::is_ascii_digit) {
                self.bump_char();
                digits.push(d);
            }
            match digits.parse::<u32>() {
                Ok(n) => Param::Positional(n),
                Err(_) => return Err(self.bad_substitution(open)),
            }
        } else if c == '#' && self.peek_char2() != Some('}') {
            return Err(self.unsupported("${#...} (length) is not supported", open));
        } else if c == '!' && self.peek_char2() != Some('}') {
            return Err(self.unsupported("${!...} (indirection) is not supported", open));
        } else {
            match self.lex_param_name() {
                Some(p) => p,
                None => return Err(self.bad_substitution(open)),
            }
        };
        let param = match (param, self.peek_char()) {
            (Param::Named(name), Some('[')) => {
                let bracket = self.here();
                self.bump_char();
                let index = if matches!(self.peek_char(), Some('*' | '@'))
                    && self.peek_char2() == Some(']')
                {
                    let c = self.bump_char();
                    self.bump_char();
                    if c == Some('*') {
                        Index::Star
                    } else {
                        Index::At
                    }
                } else {
                    Index::Expr(Box::new(
                        self.lex_arith_until_bracket(Span::new(bracket, bracket + 1))?,
                    ))
                };
                Param::Indexed { name, index }
            }
            (param, _) => param,
        };
        match self.peek_char() {
            Some('}') => {
                self.bump_char();
                Ok(param)
            }
            None => Err(self.unterminated("}", open)),
            Some(':' | '-' | '=' | '?' | '+' | '#' | '%' | '/' | '^' | ',' | '@') => Err(self
                .unsupported(
                    "parameter expansion operators (${x:-word}, ${x#pat}, ...) are not supported",
                    Span::new(open.start, self.here() + 1),
                )),
            Some(_) => Err(self.bad_substitution(open)),
        }
    }

    /// Bash's `${...}: bad substitution`, quoting the text up to the closing brace.
    /// Bash finds that brace skipping quotes and nested `${...}`, so an unclosed quote
    /// inside is reported first.
    fn bad_substitution(&self, open: Span) -> super::SyntaxError {
        let bytes = self.src.as_bytes();
        let mut p = open.end;
        // The closers still expected, innermost last, below the `}` being looked for.
        let mut closers: Vec<u8> = Vec::new();
        while let Some(&b) = bytes.get(p) {
            match b {
                b'\\' => p += 1,
                b'\'' => match self.src[p + 1..].find('\'') {
                    Some(i) => p += i + 1,
                    None => return self.unterminated("'", Span::new(p, p + 1)),
                },
                b'"' => {
                    let q = p;
                    p += 1;
                    loop {
                        match bytes.get(p) {
                            None => return self.unterminated("\"", Span::new(q, q + 1)),
                            Some(b'\\') => p += 1,
                            Some(b'"') => break,
                            Some(b'$') if self.starts_command_subst(p) => {
                                match self.skip_command_subst(p) {
                                    Ok(end) => {
                                        p = end;
                                        continue;
                                    }
                                    Err(e) => return e,
                                }
                            }
                            Some(_) => {}
                        }
                        p += 1;
                    }
                }
                // A command substitution is parsed for real, as bash does here.
                b'$' if self.starts_command_subst(p) => match self.skip_command_subst(p) {
                    Ok(end) => {
                        p = end;
                        continue;
                    }
                    Err(e) => return e,
                },
                b'$' if matches!(bytes.get(p + 1), Some(b'{' | b'(')) => {
                    closers.push(if bytes[p + 1] == b'{' { b'}' } else { b')' });
                    p += 1;
                }
                b'(' if closers.last() == Some(&b')') => closers.push(b')'),
                b'}' | b')' if closers.last() == Some(&b) => {
                    closers.pop();
                }
                b'}' if closers.is_empty() => {
                    let text = String::from_utf8_lossy(&bytes[open.start..=p]);
                    return self.error(
                        format!("bash: {text}: bad substitution"),
                        Span::new(open.start, p + 1),
                    );
                }
                _ => {}
            }
            p += 1;
        }
        match closers.last() {
            Some(b')') => self.unterminated(")", open),
            _ => self.unterminated("}", open),
        }
    }

    fn starts_command_subst(&self, p: usize) -> bool {
        let b = self.src.as_bytes();
        b.get(p + 1) == Some(&b'(') && b.get(p + 2) != Some(&b'(')
    }

    /// Parses the `$(...)` at `p` for its errors; the position after it.
    fn skip_command_subst(&self, p: usize) -> PResult<usize> {
        let mut sub = Parser::new(self.src, p + 2);
        sub.depth = self.depth;
        sub.lex_command_subst(p)?;
        Ok(sub.pos)
    }

    /// After `$'`: C escapes decoded, up to the closing `'`.
    fn lex_ansi_c(&mut self, start: usize) -> PResult<String> {
        let open = Span::new(start, self.pos);
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.bump_raw() else {
                return Err(self.unterminated("'", open));
            };
            match c {
                '\'' => break,
                '\\' => {
                    let Some(e) = self.bump_raw() else {
                        return Err(self.unterminated("'", open));
                    };
                    let simple = match e {
                        'n' => Some(b'\n'),
                        't' => Some(b'\t'),
                        'r' => Some(b'\r'),
                        'a' => Some(0x07),
                        'b' => Some(0x08),
                        'e' | 'E' => Some(0x1b),
                        'f' => Some(0x0c),
                        'v' => Some(0x0b),
                        '\\' | '\'' | '"' | '?' => Some(e as u8),
                        _ => None,
                    };
                    if let Some(b) = simple {
                        bytes.push(b);
                    } else if e == 'x' {
                        match self.lex_escape_number(16, 2) {
                            (_, 0) => bytes.extend_from_slice(b"\\x"),
                            (v, _) => bytes.push(v as u8),
                        }
                    } else if let Some(d) = e.to_digit(8) {
                        let (rest, len) = self.lex_escape_number(8, 2);
                        // `\777` wraps to a byte, as in bash.
                        bytes.push(((d << (3 * len)) | rest) as u8);
                    } else {
                        bytes.push(b'\\');
                        let mut buf = [0; 4];
                        bytes.extend_from_slice(e.encode_utf8(&mut buf).as_bytes());
                    }
                }
                _ => {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        // Bytes such as `\xff` are not UTF-8; they become U+FFFD.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Up to `max` digits in `radix`, as written (for `\xHH` and `\NNN`): the
    /// value and how many digits there were.
    fn lex_escape_number(&mut self, radix: u32, max: usize) -> (u32, usize) {
        let (mut value, mut len) = (0, 0);
        while len < max {
            match self.src[self.pos..]
                .chars()
                .next()
                .and_then(|c| c.to_digit(radix))
            {
                Some(d) => {
                    value = value * radix + d;
                    self.pos += 1;
                    len += 1;
                }
                None => break,
            }
        }
        (value, len)
    }
}
