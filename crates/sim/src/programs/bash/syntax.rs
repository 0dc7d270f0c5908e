//! The bash grammar subset: lexer, AST and parser.
