//! SCIM 2.0 filter (RFC 7644 §3.4.2.2) and PATCH path (§3.5.2) parser.
//!
//! Text in, typed AST out, and back: `parse_filter(&ast.to_string())`
//! gives `ast` again. Knows nothing of HTTP, schemas or SQL.

pub mod ast;
mod parser;
mod print;

use std::fmt;

pub use ast::*;

/// Longer input is refused before parsing.
pub const MAX_FILTER_LEN: usize = 8192;
/// Deepest nesting of parentheses, `not`, value filters and groupings.
pub const MAX_DEPTH: usize = 64;
/// Most attribute expressions in one filter; also bounds how deep a long
/// `a or b or c …` chain nests, so dropping or printing it cannot overflow.
pub const MAX_TERMS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the input where parsing failed.
    pub position: usize,
    /// What was expected, and where.
    pub message: String,
}

impl ParseError {
    fn new(position: usize, message: String) -> ParseError {
        ParseError { position, message }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    let mut parser = parser::Parser::new(input)?;
    let filter = parser.filter(false)?;
    parser.finish()?;
    Ok(filter)
}

pub fn parse_path(input: &str) -> Result<PatchPath, ParseError> {
    parser::Parser::new(input)?.patch_path()
}
