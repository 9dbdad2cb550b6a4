//! The JavaScript surface: everything `#[wasm_bindgen]`-exported lives under this module.
//!
//! Options arrive as plain JS objects and are read with [`opts`]; errors leave as JS `Error`s
//! built by [`error`].

pub(crate) mod error;
pub(crate) mod opts;
