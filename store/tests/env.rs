//! `TRIPWIRE_STORE_URL`: zero-code adoption reads it; a bad value names it. One test
//! function: the environment is process-wide.

use tripwire_store::{StoreOptions, ENV_URL};

#[test]
fn the_store_url_comes_from_the_environment() {
    std::env::remove_var(ENV_URL);
    assert!(StoreOptions::from_env().is_none(), "unset: no store");
    std::env::set_var(ENV_URL, "  ");
    assert!(StoreOptions::from_env().is_none(), "empty: no store");
    std::env::set_var(ENV_URL, "redis://127.0.0.1:6390/2");
    let o = StoreOptions::from_env().unwrap().unwrap();
    assert_eq!(o, StoreOptions::new("redis://127.0.0.1:6390/2"));
    std::env::set_var(ENV_URL, "http://user:s3cret@example.com");
    let e = StoreOptions::from_env().unwrap().unwrap_err();
    assert_eq!(e.field, ENV_URL);
    assert!(!e.to_string().contains("s3cret"), "{e}");
}
