//! Compile-fail tests: every class of DSL mistake, with the exact message a user sees.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui` and review them.

#[test]
fn dsl_mistakes_are_compile_errors_at_the_offending_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
