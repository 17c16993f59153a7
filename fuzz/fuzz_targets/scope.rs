//! Scope parsing: never panics; what parses prints back unchanged and grants itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_scopes::Scope;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scope::new(text) {
        Ok(scope) => {
            assert_eq!(scope.as_str(), text);
            assert!(scope.grants(&scope));
        }
        Err(e) => assert!(e.offset() <= text.len()),
    }
});
