//! The TypeScript types of the errors cometkit throws. The conversion itself, `impl From<Error>
//! for JsValue`, lives in the protocol crate (its `js` feature), beside the type.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** What went wrong: the `kind` of every error cometkit throws or rejects with. */
export type CometkitErrorKind = "timeout" | "abort" | "network" | "http" | "protocol" | "invalid";

/** The `Error` cometkit throws and rejects with; switch on `kind`. */
export interface CometkitError extends Error {
  name: "CometkitError";
  kind: CometkitErrorKind;
}
"#;
