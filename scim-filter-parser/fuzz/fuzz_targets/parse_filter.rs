//! Any UTF-8 input: parsing never panics, and whatever parses prints to
//! text that parses back to the same AST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter_parser::{parse_filter, parse_path};

fuzz_target!(|input: &str| {
    if let Ok(ast) = parse_filter(input) {
        let printed = ast.to_string();
        assert_eq!(parse_filter(&printed).as_ref(), Ok(&ast), "{printed}");
    }
    if let Ok(path) = parse_path(input) {
        let printed = path.to_string();
        assert_eq!(parse_path(&printed).as_ref(), Ok(&path), "{printed}");
    }
});
