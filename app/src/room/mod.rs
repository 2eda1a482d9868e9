//! The room: the shared map in the centre, the incident queue on the left, units and messages on
//! the right, summary tiles on top. Everything is derived from the one `State` the stream keeps
//! up to date; commands go out over HTTP and come back as events like everyone else's.

mod incidents;
mod keys;
mod map;
mod messages;
pub mod replay_bar;
mod search;
mod timeline;
mod units;

use leptos::prelude::*;
use std::future::Future;
use vigie_domain::api::Committed;
use vigie_domain::wire::StreamErrorCode;
use vigie_domain::{IncidentId, Priority, UnitId, UnitStatus};

use crate::api::{Answer, Caller};
use crate::i18n::{t, Lang};
use crate::live::{LiveRoom, Mode};
use crate::ui::tiles::{AgencyTable, PriorityTile, StatusTile};

/// Who is signed in at this screen (the server takes the actor and agency of every command from
/// the session; the screen uses them to show what is its agency's).
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub user: String,
    pub agency: String,
}

impl Operator {
    fn of(live: LiveRoom) -> Self {
        live.me.with_value(|me| match me {
            Some(p) => Operator { user: p.user.clone(), agency: p.agency.to_string() },
            None => Operator { user: String::new(), agency: String::new() },
        })
    }
}

/// The last command's outcome, shown in the status line (errors stay until the next command).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Idle,
    Pending,
    Done(String),
    Failed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    Unit(UnitId),
    Incident(IncidentId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    Units,
    Messages,
    /// Units by agency and status: the commander's overview.
    Summary,
}

/// The screen's shared UI state, provided as context to every panel.
#[derive(Clone, Copy)]
pub struct Ui {
    pub live: LiveRoom,
    /// Live or replay: what the panels may do and where they read from.
    pub mode: StoredValue<Mode>,
    pub selected: RwSignal<Selection>,
    /// Where a new incident is being placed (right-click / long-press on the map).
    pub placing: RwSignal<Option<(f64, f64)>>,
    pub fly_to: RwSignal<Option<(f64, f64, f64)>>,
    /// `[west, south, east, north]` to fit the map to.
    pub fit: RwSignal<Option<[f64; 4]>>,
    pub followed: RwSignal<Option<UnitId>>,
    pub operator: RwSignal<Operator>,
    pub outcome: RwSignal<Outcome>,
    pub side: RwSignal<SideTab>,
    /// The channel the messages panel shows.
    pub channel: RwSignal<vigie_domain::ChannelId>,
    /// A message a search found: the messages panel shows and marks it.
    pub found_message: RwSignal<Option<vigie_domain::MessageId>>,
    /// The keyboard shortcuts overlay.
    pub help: RwSignal<bool>,
    pub lang: RwSignal<Lang>,
    /// Whether a new flash message rings on this screen.
    pub sound: RwSignal<bool>,
    /// On a replay page: whether this screen drives the session (holds its trainer key).
    pub is_trainer: RwSignal<bool>,
}

impl Ui {
    /// `english` in the screen's language (reactive).
    pub fn tr(&self, english: &str) -> String {
        t(self.lang.get(), english)
    }

    /// A template of the table in the screen's language, filled with `values` (reactive).
    pub fn trf(&self, english: &str, values: &[&dyn std::fmt::Display]) -> String {
        crate::i18n::tf(self.lang.get(), english, values)
    }

    pub fn read_only(&self) -> bool {
        self.mode.with_value(Mode::read_only)
    }

    /// Runs an API call in the background and shows its outcome in the status line (the
    /// operator reads failures there; they stay until the next call).
    pub fn run(&self, work: impl Future<Output = Answer<Outcome>> + 'static) {
        self.outcome.set(Outcome::Pending);
        #[cfg(feature = "hydrate")]
        {
            let outcome = self.outcome;
            wasm_bindgen_futures::spawn_local(async move {
                outcome.set(work.await.unwrap_or_else(|failure| Outcome::Failed(failure.message)));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        drop(work);
    }

    /// Sends a command as this screen's operator (`call` makes it with the typed client). Its
    /// events come back on the stream like everyone else's. A replay is read-only: nothing is sent.
    pub fn command<F>(&self, what: impl Into<String>, call: impl FnOnce(Caller) -> F)
    where
        F: Future<Output = Answer<Committed>> + 'static,
    {
        if self.read_only() {
            self.outcome.set(Outcome::Failed(self.tr("Replay is read-only: commands go to the live room")));
            return;
        }
        let what = what.into();
        let answer = call(Caller::signed_in());
        self.run(async move {
            Ok(match answer.await {
                Ok(_) => Outcome::Done(what),
                Err(failure) => Outcome::Failed(format!("{what}: {failure}")),
            })
        });
    }

    /// Acknowledges message `id` for this operator's agency.
    pub fn acknowledge(&self, id: vigie_domain::MessageId) {
        self.command(format!("{} {id}", self.tr("Acknowledged")), move |who| async move {
            crate::api::acknowledge(&who, id).await
        });
    }

    /// Starts a replay session (e.g. of an incident's window) and opens it in this browser, which
    /// holds its trainer key.
    pub fn start_replay(&self, body: vigie_domain::api::StartReplay) {
        self.run(replay_bar::start_session(body));
    }

    /// Selects an incident and fits the map to it and its assigned units.
    pub fn focus_incident(&self, id: IncidentId) {
        self.selected.set(Selection::Incident(id));
        let bounds = self.live.state.with_value(|s| {
            let i = s.incidents.get(&id)?;
            let units = i.assigned.iter().filter_map(|u| s.units.get(u)?.last_fix.map(|f| f.position.bbox()));
            Some(units.fold(i.bbox(), vigie_domain::geometry::union))
        });
        if let Some(b) = bounds {
            self.fit.set(Some(b));
        }
    }

    /// The registered agencies' codes (reactive: follows the room's changes).
    pub fn agency_codes(&self) -> Vec<String> {
        self.live.changes.track();
        self.live.state.with_value(|s| s.agencies.keys().map(|c| c.to_string()).collect())
    }

    /// Opens the new-incident form at the latest incident's place (or Châtelet in an empty room);
    /// a click on the map then moves it.
    pub fn start_placing(&self) {
        if self.read_only() {
            return;
        }
        let at = self.live.state.with_value(|s| s.incidents.values().last().map(|i| (i.location.lon, i.location.lat)));
        self.placing.set(Some(at.unwrap_or((2.3470, 48.8589))));
    }

    /// Follows `id` on the map, or stops following it.
    pub fn toggle_follow(&self, id: UnitId) {
        self.followed.update(|f| *f = if *f == Some(id) { None } else { Some(id) });
    }

    pub fn focus_unit(&self, id: UnitId) {
        self.selected.set(Selection::Unit(id));
        if let Some(p) = self.live.state.with_value(|s| s.units.get(&id)?.last_fix.map(|f| f.position)) {
            self.fly_to.set(Some((p.lon, p.lat, 15.0)));
        }
    }
}

/// The room, live or replayed: the same panels either way, in the room's mode. A replay page
/// passes its bar as `children`.
#[component]
pub fn Room(live: LiveRoom, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let read_only = live.mode.with_value(Mode::read_only);
    let ui = Ui {
        live,
        mode: live.mode,
        selected: RwSignal::new(Selection::None),
        placing: RwSignal::new(None),
        fly_to: RwSignal::new(None),
        fit: RwSignal::new(None),
        followed: RwSignal::new(None),
        operator: RwSignal::new(Operator::of(live)),
        outcome: RwSignal::new(Outcome::Idle),
        side: RwSignal::new(SideTab::Units),
        channel: RwSignal::new(vigie_domain::ChannelId::room()),
        found_message: RwSignal::new(None),
        help: RwSignal::new(false),
        lang: RwSignal::new(live.lang),
        sound: RwSignal::new(false),
        is_trainer: RwSignal::new(false),
    };
    provide_context(ui);
    if read_only {
        Effect::new(move |_| ui.is_trainer.set(ui.mode.with_value(Mode::trainer_key).is_some()));
    }
    Effect::new(move |_| live.connect());
    // What the server says went wrong on the stream goes to the status line, in the screen's words.
    Effect::new(move |_| {
        if let Some((code, _)) = live.notice.get() {
            let text = match code {
                StreamErrorCode::ReplayFailed => "The replay could not read its log; the server's log says why",
                StreamErrorCode::BadMessage => "The server refused a message from this screen",
            };
            ui.outcome.set(Outcome::Failed(ui.tr(text)));
        }
    });
    restore_prefs(ui);
    keys::install(ui, ui.help);
    let side_collapsed = RwSignal::new(false);
    view! {
        <div class="room" class:replay=read_only>
            <TopBar/>
            {children.map(|bar| bar())}
            <incidents::IncidentPanel/>
            <main class="map-panel">
                <map::MapPanel/>
                <incidents::PlaceIncident/>
            </main>
            <timeline::Timeline/>
            <aside class="side-panel" class:collapsed=move || side_collapsed.get()>
                <nav class="tabs" role="tablist">
                    <button role="tab" data-testid="tab-units" class:active=move || ui.side.get() == SideTab::Units
                        on:click=move |_| ui.side.set(SideTab::Units)>{move || ui.tr("Units")}</button>
                    <button role="tab" data-testid="tab-messages" class:active=move || ui.side.get() == SideTab::Messages
                        on:click=move |_| ui.side.set(SideTab::Messages)>
                        {move || ui.tr("Messages")} <messages::UnreadBadge/>
                    </button>
                    <button role="tab" data-testid="tab-summary" class:active=move || ui.side.get() == SideTab::Summary
                        on:click=move |_| ui.side.set(SideTab::Summary)>{move || ui.tr("Summary")}</button>
                    <button class="collapse" data-testid="collapse-side" aria-expanded=move || (!side_collapsed.get()).to_string()
                        on:click=move |_| side_collapsed.update(|c| *c = !*c)>{move || if side_collapsed.get() { "▸" } else { "▾" }}</button>
                </nav>
                <units::UnitCard/>
                {move || match ui.side.get() {
                    SideTab::Units => view! { <units::UnitBoard/> }.into_any(),
                    SideTab::Messages => view! { <messages::MessagePanel/> }.into_any(),
                    SideTab::Summary => view! { <div class="summary-tab" data-testid="summary-tab"><AgencyTable room=ui.live lang=ui.lang/></div> }.into_any(),
                }}
            </aside>
            <messages::FlashBanner/>
            <keys::HelpOverlay open=ui.help/>
        </div>
    }
    .into_any()
}

#[component]
fn TopBar() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let live = ui.live;
    let link_label = move || ui.tr(live.link.get().label());
    let link_class = move || format!("link link-{}", live.link.get().slug());
    let outcome = move || match ui.outcome.get() {
        Outcome::Idle => (String::new(), "outcome"),
        Outcome::Pending => (ui.tr("sending…"), "outcome pending"),
        Outcome::Done(s) => (s, "outcome done"),
        Outcome::Failed(s) => (s, "outcome failed"),
    };
    view! {
        <header class="topbar">
            <h1>"Vigie"</h1>
            // Live, the search answers from the live room; on a replay page, from the replay's.
            <search::SearchBox/>
            <div class="tiles summary" data-testid="summary">
                {Priority::ALL.into_iter().map(|p| view! { <PriorityTile room=live p/> }).collect_view()}
                <div class="tile total">
                    <span class="count" data-testid="units-total">{move || live.summary.with(|s| s.units_by_status.values().sum::<u32>())}</span>
                    <span class="label">{move || ui.tr("units")}</span>
                </div>
                {[UnitStatus::Available, UnitStatus::Dispatched, UnitStatus::EnRoute, UnitStatus::OnScene]
                    .into_iter().map(|s| view! { <StatusTile room=live s lang=ui.lang/> }).collect_view()}
                <div class="tile stale">
                    <span class="count" data-testid="units-stale">{move || live.summary.with(|s| s.stale_units)}</span>
                    <span class="label">{move || ui.tr("stale")}</span>
                </div>
            </div>
            <span class=move || outcome().1 data-testid="outcome" role="status">{move || outcome().0}</span>
            <OperatorBadge/>
            <button class="small lang-button" data-testid="lang" title="Français / English"
                on:click=move |_| { ui.lang.update(|l| *l = l.other()); save_prefs(ui) }>
                {move || ui.lang.get().other().code().to_uppercase()}
            </button>
            <button class="small sound-button" data-testid="sound" class:active=move || ui.sound.get()
                title=move || ui.tr("Ring on flash messages") aria-pressed=move || ui.sound.get().to_string()
                on:click=move |_| { ui.sound.update(|s| *s = !*s); save_prefs(ui) }>
                {move || if ui.sound.get() { "♪ ✓" } else { "♪ ✗" }}
            </button>
            {if ui.read_only() {
                view! { <a class="nav-link" href="/" data-testid="to-live">{move || ui.tr("Live room")}</a> }.into_any()
            } else {
                view! { <a class="nav-link" href="/replay" data-testid="to-replay">{move || ui.tr("Replay")}</a> }.into_any()
            }}
            {ui.live.me.with_value(|me| me.as_ref().is_some_and(|p| p.has(vigie_domain::authority::Role::Admin))).then(|| view! {
                <a class="nav-link" href="/admin" data-testid="to-admin">{move || ui.tr("Administration")}</a>
            })}
            {ui.live.me.with_value(|me| me.as_ref().is_some_and(|p| p.has(vigie_domain::authority::Role::Auditor))).then(|| view! {
                <a class="nav-link" href="/audit" data-testid="to-audit">{move || ui.tr("Record for oversight")}</a>
            })}
            <button class="small help-button" title=move || ui.tr("Keyboard shortcuts (?)") data-testid="help-button"
                on:click=move |_| ui.help.update(|h| *h = !*h)>"?"</button>
            <span class=link_class data-testid="link">{link_label}</span>
            <span class="seq" data-testid="seq" data-anomalies=move || live.anomalies.get()>"seq " {move || live.seq.get()}</span>
        </header>
    }
    .into_any()
}

/// Who is signed in at this screen, and signing out.
#[component]
fn OperatorBadge() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let sign_out = move |_| {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async {
            let _ = crate::api::sign_out().await;
            let _ = window().location().set_href("/signin");
        });
    };
    view! {
        <div class="operator" data-testid="operator">
            <span class="who" data-testid="operator-user">{move || ui.operator.get().user}</span>
            <span class="agency-code" data-testid="operator-agency">{move || ui.operator.get().agency}</span>
            <button class="small" data-testid="sign-out" on:click=sign_out>{move || ui.tr("Sign out")}</button>
        </div>
    }
    .into_any()
}

/// The screen's language and sound, kept in the browser.
fn restore_prefs(ui: Ui) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(storage) = window().local_storage().ok().flatten() else { return };
        ui.sound.set(storage.get_item("vigie.sound").ok().flatten().as_deref() == Some("on"));
        match storage.get_item("vigie.lang").ok().flatten().as_deref() {
            Some("fr") => ui.lang.set(Lang::Fr),
            Some("en") => ui.lang.set(Lang::En),
            _ => {}
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = ui;
}

fn save_prefs(ui: Ui) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item("vigie.lang", ui.lang.get_untracked().code());
        let _ = storage.set_item("vigie.sound", if ui.sound.get_untracked() { "on" } else { "off" });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ui;
}

/// "All agencies" or one agency: the filter the queue and the timeline share.
#[component]
pub fn AgencyFilter(value: RwSignal<String>, testid: &'static str) -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <select aria-label=move || ui.tr("Agency") data-testid=testid on:change=move |e| value.set(event_target_value(&e))>
            <option value="">{move || ui.tr("All agencies")}</option>
            {move || ui.agency_codes().into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
        </select>
    }
}
