//! Every production of the grammar and every error case.
#![allow(clippy::unwrap_used)]

use scim_filter_parser::{
    AttrPath, CompValue, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN, MAX_TERMS, PatchPath,
    parse_filter, parse_path,
};

fn path(name: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.into(),
        sub_attr: None,
    }
}

fn sub(name: &str, sub_attr: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.into(),
        sub_attr: Some(sub_attr.into()),
    }
}

fn eq(p: AttrPath, s: &str) -> Filter {
    Filter::Compare(p, CompareOp::Eq, CompValue::Str(s.into()))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn num(text: &str) -> CompValue {
    CompValue::Num(serde_json::from_str(text).unwrap())
}

#[test]
fn every_operator_case_insensitively() {
    for (word, op) in [
        ("eq", CompareOp::Eq),
        ("NE", CompareOp::Ne),
        ("Co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("eW", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("GE", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        assert_eq!(
            parse_filter(&format!("title {word} \"x\"")).unwrap(),
            Filter::Compare(path("title"), op, CompValue::Str("x".into()))
        );
    }
    assert_eq!(
        parse_filter("title PR").unwrap(),
        Filter::Present(path("title"))
    );
}

#[test]
fn rfc_7644_examples() {
    let urn = "urn:ietf:params:scim:schemas:core:2.0:User";
    assert_eq!(
        parse_filter(r#"userName Eq "john""#).unwrap(),
        eq(path("userName"), "john")
    );
    assert_eq!(
        parse_filter(r#"name.familyName co "O'Malley""#).unwrap(),
        Filter::Compare(
            sub("name", "familyName"),
            CompareOp::Co,
            CompValue::Str("O'Malley".into())
        )
    );
    assert_eq!(
        parse_filter(&format!(r#"{urn}:name.familyName sw "J""#)).unwrap(),
        Filter::Compare(
            AttrPath {
                urn: Some(urn.into()),
                name: "name".into(),
                sub_attr: Some("familyName".into()),
            },
            CompareOp::Sw,
            CompValue::Str("J".into())
        )
    );
    assert_eq!(
        parse_filter(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#).unwrap(),
        Filter::Compare(
            sub("meta", "lastModified"),
            CompareOp::Gt,
            CompValue::Str("2011-05-13T04:42:34Z".into())
        )
    );
    assert_eq!(
        parse_filter(r#"title pr and userType eq "Employee""#).unwrap(),
        and(
            Filter::Present(path("title")),
            eq(path("userType"), "Employee")
        )
    );
    assert_eq!(
        parse_filter(
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
        )
        .unwrap(),
        and(
            eq(path("userType"), "Employee"),
            or(
                Filter::Compare(path("emails"), CompareOp::Co, CompValue::Str("example.com".into())),
                Filter::Compare(
                    sub("emails", "value"),
                    CompareOp::Co,
                    CompValue::Str("example.org".into())
                )
            )
        )
    );
    assert_eq!(
        parse_filter(r#"userType ne "Employee" and not (emails co "example.com")"#).unwrap(),
        and(
            Filter::Compare(
                path("userType"),
                CompareOp::Ne,
                CompValue::Str("Employee".into())
            ),
            Filter::Not(Box::new(Filter::Compare(
                path("emails"),
                CompareOp::Co,
                CompValue::Str("example.com".into())
            )))
        )
    );
    assert_eq!(
        parse_filter(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap(),
        Filter::ValuePath(
            path("emails"),
            Box::new(and(
                eq(path("type"), "work"),
                Filter::Compare(
                    path("value"),
                    CompareOp::Co,
                    CompValue::Str("@example.com".into())
                )
            ))
        )
    );
}

#[test]
fn and_binds_tighter_than_or_and_both_associate_left() {
    let (a, b, c) = (
        || eq(path("a"), "1"),
        || eq(path("b"), "2"),
        || eq(path("c"), "3"),
    );
    assert_eq!(
        parse_filter(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap(),
        or(a(), and(b(), c()))
    );
    assert_eq!(
        parse_filter(r#"a eq "1" and b eq "2" or c eq "3""#).unwrap(),
        or(and(a(), b()), c())
    );
    assert_eq!(
        parse_filter(r#"a eq "1" or b eq "2" or c eq "3""#).unwrap(),
        or(or(a(), b()), c())
    );
    assert_eq!(
        parse_filter(r#"a eq "1" AND (b eq "2" OR c eq "3")"#).unwrap(),
        and(a(), or(b(), c()))
    );
    assert_eq!(
        parse_filter(r#"NOT(a eq "1")"#).unwrap(),
        Filter::Not(Box::new(a()))
    );
}

#[test]
fn literals() {
    let value = |text: &str| match parse_filter(&format!("x eq {text}")).unwrap() {
        Filter::Compare(_, _, v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("true"), CompValue::Bool(true));
    assert_eq!(value("False"), CompValue::Bool(false));
    assert_eq!(value("NULL"), CompValue::Null);
    assert_eq!(value("42"), num("42"));
    assert_eq!(value("-7"), num("-7"));
    assert_eq!(value("3.25"), num("3.25"));
    assert_eq!(value("1e-3"), num("1e-3"));
    assert_eq!(value("6.02E+23"), num("6.02E+23"));
    assert_eq!(value(r#""a\"b""#), CompValue::Str("a\"b".into()));
    assert_eq!(value(r#""\u00e9\n\\""#), CompValue::Str("é\n\\".into()));
    assert_eq!(value(r#""""#), CompValue::Str(String::new()));
    assert_eq!(value(r#""日本 語""#), CompValue::Str("日本 語".into()));
}

#[test]
fn names_urns_and_ref() {
    assert_eq!(
        parse_filter(r#"members.$ref eq "x""#).unwrap(),
        eq(sub("members", "$ref"), "x")
    );
    assert_eq!(
        parse_filter(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#
        )
        .unwrap(),
        eq(
            AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                name: "department".into(),
                sub_attr: None,
            },
            "R&D"
        )
    );
    // Keywords are ordinary attribute names where an attribute is expected.
    assert_eq!(parse_filter(r#"not eq "x""#).unwrap(), eq(path("not"), "x"));
    assert_eq!(
        parse_filter(r#"  user-name_2 eq "x"  "#).unwrap(),
        eq(path("user-name_2"), "x")
    );
}

#[test]
fn patch_paths() {
    assert_eq!(
        parse_path("members").unwrap(),
        PatchPath {
            attr: path("members"),
            value_filter: None,
            sub_attr: None
        }
    );
    assert_eq!(
        parse_path("name.givenName").unwrap().attr,
        sub("name", "givenName")
    );
    assert_eq!(
        parse_path(r#"emails[type eq "work"].value"#).unwrap(),
        PatchPath {
            attr: path("emails"),
            value_filter: Some(eq(path("type"), "work")),
            sub_attr: Some("value".into()),
        }
    );
    assert_eq!(
        parse_path(r#"members[value eq "2819c223"]"#).unwrap(),
        PatchPath {
            attr: path("members"),
            value_filter: Some(eq(path("value"), "2819c223")),
            sub_attr: None,
        }
    );
    let manager =
        parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").unwrap();
    assert_eq!(manager.attr.name, "manager");
    let bare = parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
    assert_eq!(
        bare.attr.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
    );
    assert_eq!(bare.attr.name, "User");
}

fn error_at(input: &str) -> (usize, String) {
    let error = parse_filter(input).unwrap_err();
    (error.position, error.message)
}

#[test]
fn errors_say_what_was_expected_and_where() {
    for (input, position, expected) in [
        ("", 0, "expected an attribute name"),
        ("userName", 8, "expected a space and an operator"),
        ("userName xx \"a\"", 9, "expected an operator"),
        ("userName eq", 11, "expected a space after the operator"),
        ("userName eq ", 12, "expected a value"),
        ("userName eq \"abc", 12, "unterminated string"),
        ("userName eq \"a\\q\"", 12, "invalid string literal"),
        ("userName eq \"a\\u0000\"", 12, "control character U+0000"),
        ("userName eq \"\\u001b\"", 12, "control character U+001B"),
        ("userName eq john", 12, "expected a value"),
        ("userName eq \"a\" and", 19, "expected an attribute name"),
        ("(userName eq \"a\"", 16, "expected \")\""),
        ("userName eq \"a\")", 15, "expected end of input"),
        ("emails[type eq \"work\"", 21, "expected \"]\""),
        (
            "emails[a[b eq 1]]",
            8,
            "cannot contain another value filter",
        ),
        ("userName eqx \"a\"", 9, "expected an operator"),
        ("1abc eq 1", 0, "expected an attribute name"),
        ("name. eq 1", 5, "expected a sub-attribute name"),
        ("x eq 12abc", 5, "expected a value"),
        ("x eq 1e999", 5, "number out of range"),
        ("urn:a:b:9x eq 1", 8, "invalid attribute name"),
    ] {
        let (at, message) = error_at(input);
        assert_eq!(at, position, "{input:?}: {message}");
        assert!(message.contains(expected), "{input:?}: {message}");
        assert!(
            message.contains(&format!("position {position}")),
            "{message}"
        );
    }
    let error = parse_path("emails[type eq \"work\"].").unwrap_err();
    assert!(error.message.contains("sub-attribute"), "{}", error.message);
    assert!(parse_path("name.givenName junk").is_err());
}

#[test]
fn limits_refuse_hostile_input_quickly() {
    let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
    assert!(
        parse_filter(&long)
            .unwrap_err()
            .message
            .contains("longer than")
    );

    let deep = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(
        parse_filter(&deep)
            .unwrap_err()
            .message
            .contains("nesting deeper")
    );
    let nots = format!(
        "{}a pr{}",
        "not (".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(
        parse_filter(&nots)
            .unwrap_err()
            .message
            .contains("nesting deeper")
    );
    let fine = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH - 2),
        ")".repeat(MAX_DEPTH - 2)
    );
    assert!(parse_filter(&fine).is_ok());

    let chain = vec!["a pr"; MAX_TERMS + 1].join(" or ");
    assert!(
        parse_filter(&chain)
            .unwrap_err()
            .message
            .contains("attribute expressions")
    );
    let longest = vec!["a pr"; MAX_TERMS].join(" or ");
    let parsed = parse_filter(&longest).unwrap();
    assert_eq!(parse_filter(&parsed.to_string()).unwrap(), parsed);
}

#[test]
fn printing_adds_only_needed_parentheses() {
    for (input, printed) in [
        (
            r#"a eq "1" or b eq "2" and c eq "3""#,
            r#"a eq "1" or b eq "2" and c eq "3""#,
        ),
        (
            r#"(a eq "1" or b eq "2") and c pr"#,
            r#"(a eq "1" or b eq "2") and c pr"#,
        ),
        (r#"a pr and (b pr and c pr)"#, r#"a pr and (b pr and c pr)"#),
        (r#"a pr or (b pr or c pr)"#, r#"a pr or (b pr or c pr)"#),
        (r#"NOT ( a Eq 1 )"#, r#"not (a eq 1)"#),
        (r#"emails[type EQ "w\"x"]"#, r#"emails[type eq "w\"x"]"#),
    ] {
        let parsed = parse_filter(input).unwrap();
        assert_eq!(parsed.to_string(), printed);
        assert_eq!(parse_filter(printed).unwrap(), parsed);
    }
    let patch_path = parse_path(r#"addresses[type eq "work"].streetAddress"#).unwrap();
    assert_eq!(
        patch_path.to_string(),
        r#"addresses[type eq "work"].streetAddress"#
    );
}
