//! What an operator is typing survives the session ending: a draft lives in the tab's session
//! storage until it is sent, so being sent to sign in and back loses nothing.

use leptos::prelude::*;

/// A text field's value kept under `key` in this tab (restored after hydration).
pub fn draft(key: String) -> RwSignal<String> {
    let text = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        let storage = window().session_storage().ok().flatten();
        if let Some(saved) = storage.as_ref().and_then(|s| s.get_item(&key).ok().flatten()) {
            text.set(saved);
        }
        Effect::new(move |_| {
            let value = text.get();
            if let Some(s) = window().session_storage().ok().flatten() {
                let _ = if value.is_empty() { s.remove_item(&key) } else { s.set_item(&key, &value) };
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
    text
}
