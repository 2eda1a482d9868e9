//! `/`: the live room.

use leptos::prelude::*;

use crate::live::WithRoom;
use crate::room::Room;

#[component]
pub fn RoomPage() -> impl IntoView {
    view! { <WithRoom page=|live| view! { <Room live=live/> }.into_any()/> }
}
