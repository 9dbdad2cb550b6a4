//! Pure protocol logic: parsers, encoders and validation rules.
//!
//! Nothing here touches `web-sys` or reads a clock; time, when needed, is a parameter. All of
//! it is tested natively with `cargo test`.
