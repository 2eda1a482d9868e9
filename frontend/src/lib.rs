// Leptos view types nest deeply; release builds of the room need more than the default 128.
#![recursion_limit = "256"]
//! The wasm entry point: `hydrate()` takes over the page the server rendered. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
