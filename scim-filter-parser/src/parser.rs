//! Recursive descent over the RFC 7644 §3.4.2.2 grammar. nom recognises the
//! tokens (names, numbers, keywords); the recursion is explicit so that
//! depth and term limits are checked before the stack can grow, and every
//! error knows its byte position.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser as _};

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::{MAX_DEPTH, MAX_FILTER_LEN, MAX_TERMS, ParseError};

pub(crate) struct Parser<'a> {
    source: &'a str,
    rest: &'a str,
    depth: usize,
    terms: usize,
}

/// Characters that may end a keyword or an attribute name.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `ATTRNAME = ALPHA *(nameChar)`, plus `$ref`.
fn attr_name(input: &str) -> IResult<&str, &str> {
    alt((
        tag("$ref"),
        recognize((
            take_while1(|c: char| c.is_ascii_alphabetic()).map(|_| ()),
            take_while(is_name_char),
        )),
    ))
    .parse(input)
}

/// A JSON number: `-? int frac? exp?`.
fn json_number(input: &str) -> IResult<&str, &str> {
    recognize((
        opt(char('-')),
        digit1,
        opt((char('.'), digit1)),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse(input)
}

/// The extent of a JSON string literal (quotes included), escapes skipped.
fn string_extent(input: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in input.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

impl<'a> Parser<'a> {
    pub(crate) fn new(source: &'a str) -> Result<Parser<'a>, ParseError> {
        if source.len() > MAX_FILTER_LEN {
            return Err(ParseError::new(
                MAX_FILTER_LEN,
                format!("input longer than {MAX_FILTER_LEN} bytes"),
            ));
        }
        Ok(Parser {
            source,
            rest: source,
            depth: 0,
            terms: 0,
        })
    }

    fn position(&self) -> usize {
        self.source.len() - self.rest.len()
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        let position = self.position();
        let near: String = self.rest.chars().take(16).collect();
        let message = if near.is_empty() {
            format!("{} at position {position} (end of input)", message.into())
        } else {
            format!("{} at position {position} (near {near:?})", message.into())
        };
        Err(ParseError::new(position, message))
    }

    fn skip_whitespace(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// Consumes a case-insensitive keyword only when a delimiter follows it.
    fn keyword(&mut self, word: &str) -> bool {
        let result: IResult<&str, &str> = tag_no_case(word).parse(self.rest);
        match result {
            Ok((after, _)) if after.chars().next().is_none_or(is_delimiter) => {
                self.rest = after;
                true
            }
            _ => false,
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn expect_char(&mut self, expected: char, what: &str) -> Result<(), ParseError> {
        self.skip_whitespace();
        match self.rest.strip_prefix(expected) {
            Some(after) => {
                self.rest = after;
                Ok(())
            }
            None => self.error(format!("expected {what}")),
        }
    }

    pub(crate) fn finish(&mut self) -> Result<(), ParseError> {
        self.skip_whitespace();
        if self.rest.is_empty() {
            Ok(())
        } else {
            self.error("expected end of input, \"and\" or \"or\"")
        }
    }

    /// `filter = term *("or" term)` with `term = factor *("and" factor)`.
    pub(crate) fn filter(&mut self, in_value_path: bool) -> Result<Filter, ParseError> {
        self.enter()?;
        let mut left = self.conjunction(in_value_path)?;
        loop {
            self.skip_whitespace();
            if !self.keyword("or") {
                break;
            }
            let right = self.conjunction(in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn conjunction(&mut self, in_value_path: bool) -> Result<Filter, ParseError> {
        let mut left = self.factor(in_value_path)?;
        loop {
            self.skip_whitespace();
            if !self.keyword("and") {
                break;
            }
            let right = self.factor(in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self, in_value_path: bool) -> Result<Filter, ParseError> {
        self.skip_whitespace();
        let before_not = self.rest;
        if self.keyword("not") {
            self.skip_whitespace();
            if self.rest.starts_with('(') {
                let inner = self.parenthesised(in_value_path)?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // `not` not followed by "(" is an attribute that happens to be called "not".
            self.rest = before_not;
        }
        if self.rest.starts_with('(') {
            return self.parenthesised(in_value_path);
        }
        self.attribute_expression(in_value_path)
    }

    fn parenthesised(&mut self, in_value_path: bool) -> Result<Filter, ParseError> {
        self.expect_char('(', "\"(\"")?;
        let inner = self.filter(in_value_path)?;
        self.expect_char(')', "\")\"")?;
        Ok(inner)
    }

    fn attribute_expression(&mut self, in_value_path: bool) -> Result<Filter, ParseError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return self.error(format!("more than {MAX_TERMS} attribute expressions"));
        }
        let path = self.attr_path()?;
        if self.rest.starts_with('[') {
            if in_value_path {
                return self.error("a value filter cannot contain another value filter");
            }
            if path.sub_attr.is_some() {
                return self.error("a value filter must follow an attribute, not a sub-attribute");
            }
            self.enter()?;
            self.rest = &self.rest[1..];
            let inner = self.filter(true)?;
            self.expect_char(']', "\"]\" closing the value filter")?;
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let had_space = self.rest.starts_with(char::is_whitespace);
        self.skip_whitespace();
        if !had_space {
            return self.error("expected a space and an operator after the attribute path");
        }
        if self.keyword("pr") {
            return Ok(Filter::Present(path));
        }
        let op = self.compare_op()?;
        if !self.rest.starts_with(char::is_whitespace) {
            return self.error("expected a space after the operator");
        }
        self.skip_whitespace();
        let value = self.comp_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn compare_op(&mut self) -> Result<CompareOp, ParseError> {
        const OPS: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (word, op) in OPS {
            if self.keyword(word) {
                return Ok(op);
            }
        }
        self.error("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)")
    }

    fn comp_value(&mut self) -> Result<CompValue, ParseError> {
        if self.rest.starts_with('"') {
            let Some(end) = string_extent(self.rest) else {
                return self.error("unterminated string");
            };
            let literal = &self.rest[..end];
            let decoded: String = match serde_json::from_str(literal) {
                Ok(s) => s,
                Err(e) => return self.error(format!("invalid string literal ({e})")),
            };
            // An escaped C0 control (`\u0000`) could reach a database that
            // refuses it (PostgreSQL text); no stored value can hold one.
            if let Some(c) = decoded
                .chars()
                .find(|c| *c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r'))
            {
                return self.error(format!(
                    "string literal holds control character U+{:04X}",
                    u32::from(c)
                ));
            }
            self.rest = &self.rest[end..];
            return Ok(CompValue::Str(decoded));
        }
        for (word, value) in [
            ("true", CompValue::Bool(true)),
            ("false", CompValue::Bool(false)),
            ("null", CompValue::Null),
        ] {
            if self.keyword(word) {
                return Ok(value);
            }
        }
        if let Ok((after, digits)) = json_number(self.rest)
            && after.chars().next().is_none_or(is_delimiter)
        {
            return match serde_json::from_str::<serde_json::Number>(digits) {
                Ok(number) => {
                    self.rest = after;
                    Ok(CompValue::Num(number))
                }
                Err(_) => self.error("number out of range"),
            };
        }
        self.error("expected a value: a \"string\", a number, true, false or null")
    }

    /// `[URI ":"] ATTRNAME ["." subAttr]`; a URN is split at its last colon.
    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, ParseError> {
        self.skip_whitespace();
        let urn_prefix: IResult<&str, &str> = tag_no_case("urn:").parse(self.rest);
        if urn_prefix.is_ok() {
            let end = self
                .rest
                .find(|c: char| is_delimiter(c) || !(c.is_ascii_graphic()))
                .unwrap_or(self.rest.len());
            let word = &self.rest[..end];
            let Some((urn, attribute)) = word.rsplit_once(':') else {
                return self.error("expected an attribute after the schema URN");
            };
            let (name, sub_attr) = match attribute.split_once('.') {
                Some((name, sub)) => (name, Some(sub)),
                None => (attribute, None),
            };
            let valid = |s: &str| attr_name(s).is_ok_and(|(rest, _)| rest.is_empty());
            if !valid(name) || !sub_attr.is_none_or(valid) {
                let at = self.position() + urn.len() + 1;
                return Err(ParseError::new(
                    at,
                    format!("invalid attribute name {attribute:?} at position {at}"),
                ));
            }
            self.rest = &self.rest[end..];
            return Ok(AttrPath {
                urn: Some(urn.to_owned()),
                name: name.to_owned(),
                sub_attr: sub_attr.map(str::to_owned),
            });
        }
        let Ok((after, name)) = attr_name(self.rest) else {
            return self.error("expected an attribute name");
        };
        self.rest = after;
        let sub_attr = match self.rest.strip_prefix('.') {
            Some(after_dot) => {
                let Ok((after, sub)) = attr_name(after_dot) else {
                    self.rest = after_dot;
                    return self.error("expected a sub-attribute name after \".\"");
                };
                self.rest = after;
                Some(sub.to_owned())
            }
            None => None,
        };
        Ok(AttrPath {
            urn: None,
            name: name.to_owned(),
            sub_attr,
        })
    }

    /// `PATH = attrPath / valuePath [subAttr]`.
    pub(crate) fn patch_path(&mut self) -> Result<PatchPath, ParseError> {
        let attr = self.attr_path()?;
        if !self.rest.starts_with('[') {
            self.finish()?;
            return Ok(PatchPath {
                attr,
                value_filter: None,
                sub_attr: None,
            });
        }
        if attr.sub_attr.is_some() {
            return self.error("a value filter must follow an attribute, not a sub-attribute");
        }
        self.rest = &self.rest[1..];
        let filter = self.filter(true)?;
        self.expect_char(']', "\"]\" closing the value filter")?;
        let sub_attr = match self.rest.strip_prefix('.') {
            Some(after_dot) => {
                self.rest = after_dot;
                let Ok((after, sub)) = attr_name(self.rest) else {
                    return self.error("expected a sub-attribute name after \".\"");
                };
                self.rest = after;
                Some(sub.to_owned())
            }
            None => None,
        };
        self.finish()?;
        Ok(PatchPath {
            attr,
            value_filter: Some(filter),
            sub_attr,
        })
    }
}
