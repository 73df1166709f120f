//! Property tests: print/parse round trips and no input makes the parser panic.

use proptest::prelude::*;
use scim_filter_parser::{
    AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_filter, parse_path,
};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        Just("$ref".to_owned()),
        Just("not".to_owned()),
        Just("and".to_owned()),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        3 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_owned())),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
    ];
    (urn, name(), proptest::option::of(name())).prop_map(|(urn, name, sub_attr)| AttrPath {
        urn,
        name,
        sub_attr,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        // Control characters other than tab, CR and LF are refused in literals.
        any::<String>().prop_map(|s| CompValue::Str(
            s.replace(|c: char| c < ' ' && !matches!(c, '\t' | '\n' | '\r'), "")
        )),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Num),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn logical(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

fn attribute_expression() -> BoxedStrategy<Filter> {
    prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), compare_op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
    .boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path = (attr_path(), logical(attribute_expression())).prop_map(|(mut p, inner)| {
        p.sub_attr = None;
        Filter::ValuePath(p, Box::new(inner))
    });
    let leaf = prop_oneof![3 => attribute_expression(), 1 => value_path].boxed();
    logical(leaf)
}

proptest! {
    #[test]
    fn printed_filters_parse_back_to_the_same_ast(ast in filter()) {
        let printed = ast.to_string();
        prop_assert_eq!(parse_filter(&printed), Ok(ast), "printed: {}", printed);
    }

    #[test]
    fn printed_patch_paths_parse_back(
        attr in attr_path(),
        inner in proptest::option::of(logical(attribute_expression())),
        sub in proptest::option::of(name()),
    ) {
        let path = match inner {
            Some(inner) => PatchPath {
                attr: AttrPath { sub_attr: None, ..attr },
                value_filter: Some(inner),
                sub_attr: sub,
            },
            None => PatchPath { attr, value_filter: None, sub_attr: None },
        };
        let printed = path.to_string();
        prop_assert_eq!(parse_path(&printed), Ok(path), "printed: {}", printed);
    }

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        let _ = parse_filter(&input);
        let _ = parse_path(&input);
    }

    #[test]
    fn filter_shaped_text_never_panics(input in r#"[a-z\[\]() "\\.:0-9-]{0,64}"#) {
        let _ = parse_filter(&input);
        let _ = parse_path(&input);
    }
}
