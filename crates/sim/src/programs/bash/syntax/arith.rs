//! Arithmetic: `$((expr))` and array indices `${name[expr]}`.
//!
//! Bash parses arithmetic only when it expands it, so its errors come at run time
//! (`bash: 1+: syntax error: operand expected (error token is "+")`); we parse it with
//! the script and report the same words up front. Assignment operators, `++`/`--`,
//! `?:` and `,` are rejected as unsupported.

use super::ast::*;
use super::parser::{PResult, Parser};
use super::{MAX_ARITH_HEIGHT, SyntaxError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum ATok {
    Num(i64),
    Name(String),
    Param(ParamExp),
    Op(&'static str),
    LParen,
    RParen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `))`, closing `$((`
    DoubleParen,
    /// `]`, closing `${name[`
    Bracket,
}

/// Operators in the order they are tried: longest first.
const OPS: &[&str] = &[
    "**", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--", "+", "-", "*", "/", "%", "<",
    ">", "&", "|", "^", "!", "~", "=", "?", ":", ",",
];

fn binary_op(s: &str) -> Option<BinaryOp> {
    Some(match s {
        "||" => BinaryOp::LogOr,
        "&&" => BinaryOp::LogAnd,
        "|" => BinaryOp::BitOr,
        "^" => BinaryOp::BitXor,
        "&" => BinaryOp::BitAnd,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "<<" => BinaryOp::Shl,
        ">>" => BinaryOp::Shr,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Rem,
        "**" => BinaryOp::Pow,
        _ => return None,
    })
}

fn unary_op(s: &str) -> Option<UnaryOp> {
    Some(match s {
        "-" => UnaryOp::Neg,
        "+" => UnaryOp::Plus,
        "!" => UnaryOp::Not,
        "~" => UnaryOp::BitNot,
        _ => return None,
    })
}

impl Parser<'_> {
    /// After `$((`: the expression and `))`.
    pub(crate) fn lex_arith_expansion(&mut self, start: usize) -> PResult<Arith> {
        let open = Span::new(start, self.pos);
        self.enter(open)?;
        let result = self.lex_arith(open, End::DoubleParen);
        self.leave();
        // Bash first finds the closing `))` as text, so any end of input inside is
        // reported against it, even within a `${`.
        let mut arith = result.map_err(|e| {
            if e.message
                .starts_with("bash: unexpected EOF while looking for matching `}'")
            {
                self.error("bash: unexpected EOF while looking for matching `)'", open)
            } else {
                e
            }
        })?;
        arith.span = Span::new(start, self.pos);
        Ok(arith)
    }

    /// After `${name[`: the index expression and `]`.
    pub(crate) fn lex_arith_until_bracket(&mut self, open: Span) -> PResult<Arith> {
        self.lex_arith(open, End::Bracket)
    }

    fn lex_arith(&mut self, open: Span, end: End) -> PResult<Arith> {
        let (tokens, text) = self.arith_tokens(open, end)?;
        if tokens.is_empty() {
            if end == End::Bracket {
                return Err(
                    self.error("bash: bad array subscript", Span::new(open.start, self.pos))
                );
            }
            // `$(( ))` is 0 in bash.
            return Ok(Arith {
                expr: ArithExpr::Number(0),
                span: text,
            });
        }
        let mut p = ArithParser {
            parser: self,
            tokens,
            i: 0,
            text,
        };
        let (expr, _) = p.expr(0)?;
        if p.i < p.tokens.len() {
            return Err(p.error("syntax error in expression", p.i));
        }
        Ok(expr)
    }

    /// The tokens up to the closing `))` or `]`, and the span of the expression text.
    fn arith_tokens(&mut self, open: Span, end: End) -> PResult<(Vec<(ATok, Span)>, Span)> {
        // `${a[1` is, for bash, an unclosed `${`.
        let closing = if end == End::DoubleParen { ")" } else { "}" };
        let text_start = self.pos;
        let mut tokens = Vec::new();
        let mut depth = 0usize;
        loop {
            while matches!(self.peek_char(), Some(' ' | '\t' | '\n')) {
                self.bump_char();
            }
            let at = self.here();
            let Some(c) = self.peek_char() else {
                return Err(self.error(
                    format!("bash: unexpected EOF while looking for matching `{closing}'"),
                    open,
                ));
            };
            let tok = match c {
                ')' if depth == 0 && end == End::DoubleParen => {
                    self.bump_char();
                    if self.peek_char() == Some(')') {
                        self.bump_char();
                        return Ok((tokens, Span::new(text_start, at)));
                    }
                    return Err(self.unsupported(
                        "an unbalanced `)' inside $((...)) is not supported",
                        Span::new(at, at + 1),
                    ));
                }
                ']' if depth == 0 && end == End::Bracket => {
                    self.bump_char();
                    return Ok((tokens, Span::new(text_start, at)));
                }
                '(' => {
                    self.bump_char();
                    depth += 1;
                    ATok::LParen
                }
                ')' => {
                    self.bump_char();
                    depth = depth.saturating_sub(1);
                    ATok::RParen
                }
                '0'..='9' => {
                    let mut word = String::new();
                    while let Some(d) = self
                        .peek_char()
                        .filter(|d| d.is_ascii_alphanumeric() || matches!(d, '_' | '#' | '@'))
                    {
                        self.bump_char();
                        word.push(d);
                    }
                    ATok::Num(self.arith_number(&word, Span::new(at, self.pos))?)
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut name = String::new();
                    while let Some(c) = self.peek_char() {
                        if !(c.is_ascii_alphanumeric() || c == '_') {
                            break;
                        }
                        self.bump_char();
                        name.push(c);
                    }
                    ATok::Name(name)
                }
                '$' => {
                    self.bump_char();
                    let param = match self.peek_char() {
                        Some('{') => {
                            self.bump_char();
                            self.lex_braced_param(at)?.param
                        }
                        Some('(') => {
                            return Err(self.unsupported(
                                "command substitution inside $((...)) is not supported",
                                Span::new(at, self.here() + 1),
                            ));
                        }
                        _ => match self.lex_param_name() {
                            Some(p) => p,
                            None => {
                                return Err(self.error(
                                    "bash: syntax error: operand expected (error token is \"$\")",
                                    Span::new(at, at + 1),
                                ));
                            }
                        },
                    };
                    ATok::Param(ParamExp {
                        param,
                        span: Span::new(at, self.pos),
                    })
                }
                _ => {
                    let rest = &self.src[at..];
                    let Some(op) = OPS.iter().copied().find(|op| rest.starts_with(op)) else {
                        return Err(self.error(
                            format!("bash: syntax error: invalid arithmetic operator (error token is \"{c}\")"),
                            Span::new(at, at + c.len_utf8()),
                        ));
                    };
                    self.pos = at + op.len();
                    let assign = binary_op(op).is_some()
                        && !matches!(op, "==" | "!=" | "<=" | ">=" | "&&" | "||" | "<" | ">")
                        && self.src[self.pos..].starts_with('=');
                    if assign || matches!(op, "=" | "++" | "--" | "?" | ":" | ",") {
                        let shown = if assign {
                            format!("{op}=")
                        } else {
                            op.to_owned()
                        };
                        return Err(self.unsupported(
                            &format!("the arithmetic operator `{shown}' is not supported"),
                            Span::new(at, at + shown.len()),
                        ));
                    }
                    ATok::Op(op)
                }
            };
            tokens.push((tok, Span::new(at, self.pos)));
        }
    }

    /// A number as bash reads it: decimal, `0x` hex or `0` octal, wrapping at 64 bits.
    fn arith_number(&self, word: &str, span: Span) -> PResult<i64> {
        if word.contains('#') {
            return Err(self.unsupported("numbers in base#digits form are not supported", span));
        }
        let (digits, radix) = if let Some(hex) = word.strip_prefix("0x").or(word.strip_prefix("0X"))
        {
            (hex, 16)
        } else if word.len() > 1 && word.starts_with('0') {
            (&word[1..], 8)
        } else {
            (word, 10)
        };
        let mut value: i64 = 0;
        for c in digits.chars() {
            let Some(d) = c.to_digit(radix) else {
                return Err(self.error(
                    format!("bash: {word}: value too great for base (error token is \"{word}\")"),
                    span,
                ));
            };
            value = value
                .wrapping_mul(i64::from(radix))
                .wrapping_add(i64::from(d));
        }
        Ok(value)
    }
}

/// Precedence climbing over the tokens of one expression.
struct ArithParser<'p, 'a> {
    parser: &'p mut Parser<'a>,
    tokens: Vec<(ATok, Span)>,
    i: usize,
    /// The whole expression's text, for bash's error messages.
    text: Span,
}

impl ArithParser<'_, '_> {
    /// Bash's run-time wording: `bash: 1+: syntax error: operand expected (error token
    /// is "+")`. At the end of the expression bash names the last token.
    fn error(&self, what: &str, i: usize) -> SyntaxError {
        let src = self.parser.src;
        let text = src[self.text.start..self.text.end].trim();
        let at = self
            .tokens
            .get(i)
            .or(self.tokens.last())
            .map_or(self.text, |(_, span)| *span);
        let rest = src[at.start..self.text.end].trim_end();
        self.parser.error(
            format!("bash: {text}: {what} (error token is \"{rest}\")"),
            Span::new(at.start, at.end),
        )
    }

    fn peek(&self) -> Option<&ATok> {
        self.tokens.get(self.i).map(|(t, _)| t)
    }

    /// A node over children of the given height, if the tree stays within bounds:
    /// `1+1+...` nests to the left, and dropping or printing a tree recurses.
    fn node(&self, expr: ArithExpr, span: Span, child_height: usize) -> PResult<(Arith, usize)> {
        if child_height + 1 > MAX_ARITH_HEIGHT {
            return Err(self.parser.error(
                format!(
                    "pipelab: the arithmetic expression is too deeply nested \
                     (the limit is {MAX_ARITH_HEIGHT} levels)"
                ),
                span,
            ));
        }
        Ok((Arith { expr, span }, child_height + 1))
    }

    /// An expression and its tree height.
    fn expr(&mut self, min_prec: u8) -> PResult<(Arith, usize)> {
        let (mut lhs, mut height) = self.unary()?;
        while let Some(ATok::Op(s)) = self.peek() {
            let Some(op) = binary_op(s) else {
                break;
            };
            if op.precedence() < min_prec {
                break;
            }
            let op_span = self.tokens[self.i].1;
            self.i += 1;
            let rhs = if op == BinaryOp::Pow {
                // Right-associative: `2**3**2` is `2**(3**2)`; the chain recurses.
                self.parser.enter(op_span)?;
                let rhs = self.expr(op.precedence());
                self.parser.leave();
                rhs?
            } else {
                self.expr(op.precedence() + 1)?
            };
            let (rhs, rhs_height) = rhs;
            let span = lhs.span.to(rhs.span);
            let expr = ArithExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
            (lhs, height) = self.node(expr, span, height.max(rhs_height))?;
        }
        Ok((lhs, height))
    }

    /// Prefix operators, gathered in a loop so that `- - - 1` does not recurse.
    fn unary(&mut self) -> PResult<(Arith, usize)> {
        let mut ops = Vec::new();
        while let Some(op) = match self.peek() {
            Some(ATok::Op(s)) => unary_op(s),
            _ => None,
        } {
            ops.push((op, self.tokens[self.i].1));
            self.i += 1;
        }
        let (mut operand, mut height) = self.primary()?;
        for (op, span) in ops.into_iter().rev() {
            let span = span.to(operand.span);
            let expr = ArithExpr::Unary {
                op,
                operand: Box::new(operand),
            };
            (operand, height) = self.node(expr, span, height)?;
        }
        Ok((operand, height))
    }

    fn primary(&mut self) -> PResult<(Arith, usize)> {
        let Some((tok, span)) = self.tokens.get(self.i).cloned() else {
            return Err(self.error("syntax error: operand expected", self.i));
        };
        let expr = match tok {
            ATok::Num(n) => ArithExpr::Number(n),
            ATok::Name(name) => ArithExpr::Var(name),
            ATok::Param(p) => ArithExpr::Param(p),
            ATok::LParen => {
                self.i += 1;
                self.parser.enter(span)?;
                let inner = self.expr(0);
                self.parser.leave();
                let (inner, height) = inner?;
                if self.peek() != Some(&ATok::RParen) {
                    return Err(self.error("missing `)'", self.i));
                }
                let close = self.tokens[self.i].1;
                self.i += 1;
                let arith = Arith {
                    expr: inner.expr,
                    span: span.to(close),
                };
                return Ok((arith, height));
            }
            ATok::RParen | ATok::Op(_) => {
                return Err(self.error("syntax error: operand expected", self.i));
            }
        };
        self.i += 1;
        Ok((Arith { expr, span }, 1))
    }
}
