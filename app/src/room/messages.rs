//! Inter-agency messages: channels this operator's agency may read, with unread counts; compose
//! with channel, priority and "acknowledgement required"; acknowledgement state for the sender;
//! and the flash banner that stays until the operator acknowledges.

use leptos::prelude::*;
use std::collections::BTreeMap;
use vigie_domain::api::PostMessage;
use vigie_domain::{AgencyCode, Channel, ChannelId, Message, MessagePriority, State};

use super::{SideTab, Ui};
use crate::api;
use crate::ui::{wire_name, words};

/// Messages of a channel drawn at once.
const SHOWN: usize = 100;

const PRIORITIES: [MessagePriority; 4] =
    [MessagePriority::Flash, MessagePriority::Immediate, MessagePriority::Priority, MessagePriority::Routine];

/// Channels the operator's agency may read, with their messages, newest last.
fn my_channels<'s>(s: &'s State, agency: &str) -> Vec<&'s Channel> {
    let Ok(code) = AgencyCode::parse(agency) else { return Vec::new() };
    s.channels.values().filter(|c| c.admits(&code)).collect()
}

/// A channel's name on this screen: the room's own channel is named by Vigie, so in the screen's
/// language; the others as their creator named them.
pub(crate) fn channel_name(ui: Ui, channel: &Channel) -> String {
    if channel.channel_id == ChannelId::room() {
        ui.tr(&channel.name)
    } else {
        channel.name.clone()
    }
}

/// Messages waiting for this operator's acknowledgement, flash first.
fn awaiting_ack(s: &State, user: &str, agency: &str) -> Vec<Message> {
    let Ok(code) = AgencyCode::parse(agency) else { return Vec::new() };
    let mut waiting: Vec<Message> = s
        .messages
        .values()
        .filter(|m| m.ack_required && !m.sent_by(user) && !m.acked_by(user))
        .filter(|m| s.channels.get(&m.channel_id).is_some_and(|c| c.admits(&code)))
        .cloned()
        .collect();
    waiting.sort_by_key(|m| (m.priority, m.message_id));
    waiting
}

/// "acknowledged by 3 of 5 agencies": the agencies that may read it, other than the sender's.
fn ack_state(s: &State, m: &Message) -> (usize, usize) {
    let expected: Vec<&AgencyCode> = match s.channels.get(&m.channel_id).and_then(|c| c.members.as_ref()) {
        Some(members) => members.iter().filter(|a| **a != m.sender_agency).collect(),
        None => s.agencies.keys().filter(|a| **a != m.sender_agency).collect(),
    };
    let acked = m.acking_agencies();
    (expected.iter().filter(|a| acked.contains(**a)).count(), expected.len())
}

/// Last message id read per channel, for the unread counts.
#[derive(Clone, Copy)]
struct ReadMarks(RwSignal<BTreeMap<ChannelId, u64>>);

fn read_marks() -> ReadMarks {
    match use_context::<ReadMarks>() {
        Some(r) => r,
        None => {
            let r = ReadMarks(RwSignal::new(BTreeMap::new()));
            provide_context(r);
            r
        }
    }
}

fn unread(s: &State, marks: &BTreeMap<ChannelId, u64>, channel: &ChannelId) -> usize {
    let mark = marks.get(channel).copied().unwrap_or(0);
    s.messages.values().filter(|m| &m.channel_id == channel && m.message_id.0 > mark).count()
}

#[component]
pub fn UnreadBadge() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let marks = read_marks();
    let total = move || {
        ui.live.changes.track();
        let agency = ui.operator.get().agency;
        marks.0.with(|marks| {
            ui.live
                .state
                .with_value(|s| my_channels(s, &agency).iter().map(|c| unread(s, marks, &c.channel_id)).sum::<usize>())
        })
    };
    view! { <Show when=move || { total() > 0 }><span class="unread" data-testid="unread-total">{total}</span></Show> }
}

#[component]
pub fn MessagePanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let marks = read_marks();
    let channel = ui.channel;
    let channels = move || {
        ui.live.changes.track();
        let agency = ui.operator.get().agency;
        marks.0.with(|marks| {
            ui.live.state.with_value(|s| {
                my_channels(s, &agency)
                    .into_iter()
                    .map(|c| (c.channel_id.clone(), channel_name(ui, c), unread(s, marks, &c.channel_id)))
                    .collect::<Vec<_>>()
            })
        })
    };
    let messages = move || {
        ui.live.changes.track();
        let channel = channel.get();
        let found = ui.found_message.get();
        ui.live.state.with_value(|s| {
            let in_channel = |m: &&Message| m.channel_id == channel;
            let mut list: Vec<(Message, (usize, usize))> = s
                .messages
                .values()
                .rev()
                .filter(in_channel)
                .take(SHOWN)
                .map(|m| (m.clone(), ack_state(s, m)))
                .collect();
            list.reverse();
            // A message a search found, older than the latest: the page from it on.
            if let Some(found) = found.filter(|f| list.first().is_some_and(|(m, _)| m.message_id > *f)) {
                list = s
                    .messages
                    .range(found..)
                    .map(|(_, m)| m)
                    .filter(in_channel)
                    .take(SHOWN)
                    .map(|m| (m.clone(), ack_state(s, m)))
                    .collect();
            }
            list
        })
    };
    // A message a search found is brought into view once drawn.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(id) = ui.found_message.get() {
            request_animation_frame(move || {
                if let Ok(Some(row)) = document().query_selector(&format!("[data-testid='message-{id}']")) {
                    row.scroll_into_view();
                }
            });
        }
    });
    // Reading a channel marks it read.
    Effect::new(move |_| {
        ui.live.changes.track();
        let c = channel.get();
        let last = ui
            .live
            .state
            .with_value(|s| s.messages.values().filter(|m| m.channel_id == c).map(|m| m.message_id.0).max());
        if let Some(last) = last {
            marks.0.update(|m| {
                m.insert(c, last);
            });
        }
    });
    // Kept in the tab until sent: a session that ends mid-sentence loses nothing.
    let body = crate::ui::draft::draft("vigie.draft.message".into());
    let priority = RwSignal::new(MessagePriority::Routine);
    let ack_required = RwSignal::new(false);
    let send = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let text = body.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let p = priority.get_untracked();
        let message = PostMessage {
            channel_id: channel.get_untracked().to_string(),
            sender_agency: None,
            priority: p,
            body: text,
            ack_required: ack_required.get_untracked() || p == MessagePriority::Flash,
        };
        ui.command(ui.tr("Message sent"), move |who| async move { api::post_message(&who, &message).await });
        body.set(String::new());
    };
    view! {
        <section class="messages" aria-label="Messages">
            <ul class="channels" data-testid="channels">
                <For each=channels key=|c| c.clone() let:c>
                    <li class:active=move || channel.get() == c.0>
                        <button data-testid=format!("channel-{}", c.0) on:click={let id = c.0.clone(); move |_| { ui.found_message.set(None); channel.set(id.clone()) }}>
                            {c.1.clone()}
                            <Show when=move || { c.2 > 0 }><span class="unread">{c.2}</span></Show>
                        </button>
                    </li>
                </For>
            </ul>
            <ol class="message-list" data-testid="message-list">
                <For each=messages key=|(m, acks)| (m.message_id, m.acks.len(), acks.0) let:item>
                    <MessageRow message=item.0 acks=item.1/>
                </For>
            </ol>
            <form class="compose" on:submit=send>
                <select aria-label="Priority" data-testid="compose-priority" on:change=move |e| {
                    let v = event_target_value(&e);
                    if let Some(p) = PRIORITIES.into_iter().find(|p| wire_name(p) == v) { priority.set(p) }
                }>
                    {PRIORITIES.into_iter().map(|p| view! { <option value=wire_name(&p) selected=p == MessagePriority::Routine>{move || ui.tr(&words(p))}</option> }).collect_view()}
                </select>
                <label class="ack-required"><input type="checkbox" data-testid="compose-ack"
                    prop:checked=move || ack_required.get() on:change=move |e| ack_required.set(event_target_checked(&e))/>{move || ui.tr("ack")}</label>
                <input class="body" aria-label="Message" placeholder=move || ui.tr("Message…") maxlength="2000" data-testid="compose-body"
                    prop:value=move || body.get() on:input=move |e| body.set(event_target_value(&e))/>
                <button type="submit" class="primary" data-testid="compose-send">{move || ui.tr("Send")}</button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn MessageRow(message: Message, acks: (usize, usize)) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = message.message_id;
    let needs_my_ack = {
        let m = message.clone();
        move || {
            let me = ui.operator.get().user;
            m.ack_required && !m.sent_by(&me) && !m.acked_by(&me)
        }
    };
    let ack_required = message.ack_required;
    view! {
        <li class=format!("message priority-{}", wire_name(&message.priority)) data-testid=format!("message-{id}")
            class:found=move || ui.found_message.get() == Some(id)>
            <header>
                <span class="sender">{message.sender_agency.to_string()} " · " {let s = message.sender_user.clone(); move || crate::ui::who(ui.lang.get(), &s)}</span>
                <span class="priority">{let p = message.priority; move || ui.tr(&words(p))}</span>
            </header>
            <p class="body">{message.body.clone()}</p>
            <Show when=move || ack_required>
                <footer class="acks" data-testid="ack-state">{move || ui.trf("acknowledged by {} of {} agencies", &[&acks.0, &acks.1])}</footer>
            </Show>
            <Show when=needs_my_ack.clone()>
                <button class="primary small" data-testid=format!("ack-{id}") on:click=move |_| ui.acknowledge(id)>{move || ui.tr("Acknowledge")}</button>
            </Show>
        </li>
    }
    .into_any()
}

/// Flash (and other ack-required) messages for this operator stay on screen until acknowledged.
#[component]
pub fn FlashBanner() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let waiting = move || {
        ui.live.changes.track();
        let o = ui.operator.get();
        ui.live.state.with_value(|s| awaiting_ack(s, &o.user, &o.agency))
    };
    let first = move || waiting().into_iter().find(|m| m.priority == MessagePriority::Flash);
    // A new flash rings once, if this screen has sound on.
    Effect::new(move |previous: Option<Option<vigie_domain::MessageId>>| {
        let newest = waiting().iter().filter(|m| m.priority == MessagePriority::Flash).map(|m| m.message_id).max();
        if newest.is_some() && previous.is_some_and(|p| p < newest) && ui.sound.get_untracked() {
            alert_tone();
        }
        newest
    });
    view! {
        {move || first().map(|m| {
            let id = m.message_id;
            let more = waiting().iter().filter(|m| m.priority == MessagePriority::Flash).count().saturating_sub(1);
            view! {
                <div class="flash-banner" role="alert" data-testid="flash-banner">
                    <strong>"FLASH"</strong>
                    <span class="from">{m.sender_agency.to_string()} " → " {m.channel_id.to_string()}</span>
                    <span class="body">{m.body.clone()}</span>
                    {(more > 0).then(|| view! { <span class="more">{move || ui.trf("+{} more", &[&more])}</span> })}
                    <button class="primary" data-testid="flash-ack" on:click=move |_| ui.acknowledge(id)>{move || ui.tr("Acknowledge")}</button>
                    <button on:click=move |_| ui.side.set(SideTab::Messages)>{move || ui.tr("Open")}</button>
                </div>
            }
        })}
    }
    .into_any()
}

/// Two short tones (Web Audio; no sound file to ship).
fn alert_tone() {
    #[cfg(feature = "hydrate")]
    {
        let Ok(ctx) = web_sys::AudioContext::new() else { return };
        let start = ctx.current_time();
        for (i, freq) in [880.0f32, 660.0].into_iter().enumerate() {
            let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else { return };
            osc.frequency().set_value(freq);
            gain.gain().set_value(0.2);
            let at = start + i as f64 * 0.25;
            let _ = osc.connect_with_audio_node(&gain).and_then(|_| gain.connect_with_audio_node(&ctx.destination()));
            let _ = osc.start_with_when(at).and_then(|_| osc.stop_with_when(at + 0.2));
        }
    }
}
