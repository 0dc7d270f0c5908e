//! The syntax tree of a script. Every node carries the [`Span`] of source it came from,
//! so the page can point at it; quoting is kept so that the interpreter can expand
//! words, split fields and remove quotes the way bash does.

use serde::Serialize;

/// A range of bytes `start..end` in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub(crate) fn to(self, other: Span) -> Span {
        Span::new(self.start, other.end)
    }
}

/// A whole script: what `bash -c SCRIPT` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    pub body: List,
    pub span: Span,
}

/// Commands run one after another: `a; b & c && d`. May be empty (a script of only
/// comments), but never as the body of a compound command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct List {
    pub items: Vec<ListItem>,
    pub span: Span,
}

/// One and-or list and how it is terminated (`;`, newline or nothing: wait for it;
/// `&`: run it in the background).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListItem {
    pub and_or: AndOr,
    pub background: bool,
    pub span: Span,
}

/// `p1 && p2 || p3`: left-associative, `&&` and `||` of equal precedence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(AndOrOp, Pipeline)>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AndOrOp {
    /// `&&`: run the next pipeline if this one succeeded.
    And,
    /// `||`: run the next pipeline if this one failed.
    Or,
}

/// `[!] c1 | c2 | ...`; never empty. `negated` is the parity of the leading `!`s
/// (bash lets `! ! cmd` cancel out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub negated: bool,
    pub commands: Vec<Command>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Command {
    Simple(SimpleCommand),
    /// A compound command with the redirections written after it, which apply to the
    /// whole of it: `{ a; b; } > out`.
    Compound {
        body: Compound,
        redirects: Vec<Redirect>,
        span: Span,
    },
    /// `name() compound` or `function name compound`.
    FunctionDef {
        name: String,
        body: Box<Command>,
        span: Span,
    },
}

impl Command {
    pub fn span(&self) -> Span {
        match self {
            Command::Simple(c) => c.span,
            Command::Compound { span, .. } | Command::FunctionDef { span, .. } => *span,
        }
    }
}

/// `x=1 cmd arg 2>&1 arg`: assignments come first, then words and redirections in
/// any order. Any of the three may be empty, but not all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimpleCommand {
    pub assignments: Vec<Assignment>,
    /// The command name and its arguments, before expansion.
    pub words: Vec<Word>,
    /// In source order, which is the order bash applies them in.
    pub redirects: Vec<Redirect>,
    pub span: Span,
}

/// `name=value`, before a command or alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub name: String,
    pub value: Word,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Compound {
    /// `{ list; }`: runs in the current shell.
    BraceGroup(List),
    /// `( list )`: runs in a forked child.
    Subshell(List),
    /// `while cond; do body; done`
    While { cond: List, body: List },
    /// `until cond; do body; done`
    Until { cond: List, body: List },
    /// `for var in words; do body; done`; `words` is `None` for `for var; do`, which
    /// loops over the positional parameters.
    For {
        var: String,
        words: Option<Vec<Word>>,
        body: List,
    },
    /// `if c1; then b1; elif c2; then b2; else e; fi`
    If {
        branches: Vec<(List, List)>,
        else_body: Option<List>,
    },
}

/// A redirection. `fd` is the number written before the operator, if any; see
/// [`Redirect::fd`] for the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    pub fd: Option<u32>,
    pub op: RedirOp,
    /// The file name, or for `<&` and `>&` the fd to duplicate (`2>&1`) or `-` to
    /// close. Bash expands it before deciding, so it stays a word here: for `>&WORD`
    /// with no fd written, a WORD that does not expand to a number or `-` means
    /// `&>WORD` (bash's `>&file`).
    pub target: Word,
    pub span: Span,
}

impl Redirect {
    /// The fd the redirection changes: the one written, or 0 for `<`, `<>`, `<&` and 1
    /// for the rest (`&>` changes 1 and 2).
    pub fn fd(&self) -> u32 {
        self.fd.unwrap_or(self.op.default_fd())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RedirOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>|` (the same as `>` here: there is no `noclobber`)
    Clobber,
    /// `>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupRead,
    /// `>&`
    DupWrite,
    /// `&>`: stdout and stderr to the file.
    WriteBoth,
    /// `&>>`: stdout and stderr appended to the file.
    AppendBoth,
}

impl RedirOp {
    /// The fd the operator changes when none is written.
    pub fn default_fd(self) -> u32 {
        match self {
            RedirOp::Read | RedirOp::ReadWrite | RedirOp::DupRead => 0,
            _ => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RedirOp::Read => "<",
            RedirOp::Write => ">",
            RedirOp::Clobber => ">|",
            RedirOp::Append => ">>",
            RedirOp::ReadWrite => "<>",
            RedirOp::DupRead => "<&",
            RedirOp::DupWrite => ">&",
            RedirOp::WriteBoth => "&>",
            RedirOp::AppendBoth => "&>>",
        }
    }
}

/// One shell word before expansion: parts written next to each other (`a"b"'c'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    pub parts: Vec<WordPart>,
    pub span: Span,
}

impl Word {
    /// The word's text if it has no expansions at all (quotes removed), e.g. for a
    /// `2>&1` target or a `for` variable.
    pub fn static_text(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                WordPart::Literal(s) | WordPart::Escaped(s) | WordPart::SingleQuoted(s) => {
                    out.push_str(s)
                }
                WordPart::DoubleQuoted(inner) => {
                    for p in inner {
                        match p {
                            WordPart::Literal(s) => out.push_str(s),
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// The text if the word is entirely unquoted literal text: only such a word can
    /// be a reserved word (`done`), an assignment or a function name.
    pub fn unquoted_text(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [WordPart::Literal(s)] => Some(s),
            _ => None,
        }
    }
}

/// A piece of a word.
///
/// Outside double quotes, `Literal` text is subject to field splitting only through
/// expansions, and may hold glob characters (`*`, `?`, `[`), which the simulator leaves
/// literal (there is no globbing); brace expansion and `~` are literal text too.
/// Inside [`WordPart::DoubleQuoted`], `Literal` is quoted text with its backslash
/// escapes already removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WordPart {
    /// Unquoted (or, inside double quotes, quoted) literal text.
    Literal(String),
    /// Characters quoted by a backslash outside quotes (`\;`), backslashes removed.
    Escaped(String),
    /// `'text'`, and `$'text'` with its C escapes already decoded.
    SingleQuoted(String),
    /// `"..."`: literal text and expansions; never split into fields.
    DoubleQuoted(Vec<WordPart>),
    /// `$name`, `${name}`, `$?`, `${PIPESTATUS[*]}`, ...
    Param(ParamExp),
    /// `$(script)`
    CommandSubst(Box<Script>),
    /// `$((expr))`
    Arith(Arith),
}

/// A parameter expansion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamExp {
    pub param: Param,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Param {
    /// `$name`, `${name}`
    Named(String),
    /// `$0`..`$9`, `${10}`
    Positional(u32),
    /// `$?`, `$!`, `$$`, `$#`, `$@`, `$*`, `$-`
    Special(char),
    /// `${name[index]}`, e.g. `${PIPESTATUS[*]}`
    Indexed { name: String, index: Index },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Index {
    /// `[*]`: all elements, joined into one field inside double quotes.
    Star,
    /// `[@]`: all elements, one field each inside double quotes.
    At,
    /// `[expr]`: an arithmetic expression (`[1]`, `[$i]`, `[-1]`).
    Expr(Box<Arith>),
}

/// An arithmetic expression, as in `$((...))`. Integers are `i64` and wrap, as in bash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arith {
    pub expr: ArithExpr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ArithExpr {
    Number(i64),
    /// A bare variable name: its value, as a number (unset or empty is 0).
    Var(String),
    /// `$x`, `${x}`, `$1`, `$?` inside the expression.
    Param(ParamExp),
    Unary {
        op: UnaryOp,
        operand: Box<Arith>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Arith>,
        rhs: Box<Arith>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Plus,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

/// Binary operators, with bash's precedence (lowest first in [`BinaryOp::precedence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    LogOr,
    LogAnd,
    BitOr,
    BitXor,
    BitAnd,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// `**` (right-associative)
    Pow,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::LogOr => "||",
            BinaryOp::LogAnd => "&&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::BitAnd => "&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Pow => "**",
        }
    }

    /// Binding strength, from bash's `expr.c` (higher binds tighter).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::LogOr => 1,
            BinaryOp::LogAnd => 2,
            BinaryOp::BitOr => 3,
            BinaryOp::BitXor => 4,
            BinaryOp::BitAnd => 5,
            BinaryOp::Eq | BinaryOp::Ne => 6,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 7,
            BinaryOp::Shl | BinaryOp::Shr => 8,
            BinaryOp::Add | BinaryOp::Sub => 9,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 10,
            BinaryOp::Pow => 11,
        }
    }
}
