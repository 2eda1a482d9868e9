//! The replay clock with a paused, injected wall clock: play, pause, speed, seek and step give the
//! expected replay time, and the clock never leaves its window.

use vigie_domain::replay::{incident_window, Control, Direction, Pin, ReplayClock};

const T0: i64 = 1_700_000_000_000;
const WALL: i64 = 5_000_000;

fn clock() -> ReplayClock {
    ReplayClock::new(T0, T0 + 3_600_000, WALL).unwrap()
}

#[test]
fn a_new_clock_is_paused_at_the_start_and_does_not_move() {
    let c = clock();
    assert_eq!(c.at(WALL), T0);
    assert_eq!(c.at(WALL + 60_000), T0);
    assert!(!c.ended(WALL + 60_000));
}

#[test]
fn play_runs_at_the_chosen_speed_and_pause_holds_the_moment() {
    let mut c = clock();
    c.control(&Control::Play, WALL, None).unwrap();
    assert_eq!(c.at(WALL + 1_000), T0 + 1_000);
    c.control(&Control::Speed { speed: 60.0 }, WALL + 1_000, None).unwrap();
    assert_eq!(c.at(WALL + 2_000), T0 + 1_000 + 60_000, "the new speed applies from the moment it was set");
    c.control(&Control::Pause, WALL + 2_000, None).unwrap();
    assert_eq!(c.at(WALL + 100_000), T0 + 61_000);
    c.control(&Control::Play, WALL + 100_000, None).unwrap();
    assert_eq!(c.at(WALL + 100_500), T0 + 61_000 + 30_000);
}

#[test]
fn the_clock_stops_at_the_end_and_play_from_the_end_starts_over() {
    let mut c = clock();
    c.control(&Control::Speed { speed: 60.0 }, WALL, None).unwrap();
    c.control(&Control::Play, WALL, None).unwrap();
    assert_eq!(c.at(WALL + 120_000), T0 + 3_600_000);
    assert!(c.ended(WALL + 120_000));
    c.control(&Control::Play, WALL + 120_000, None).unwrap();
    assert_eq!(c.at(WALL + 120_000), T0);
}

#[test]
fn seek_moves_within_the_window_and_keeps_playing_or_paused() {
    let mut c = clock();
    c.control(&Control::Seek { at_ms: T0 + 600_000 }, WALL, None).unwrap();
    assert_eq!(c.at(WALL + 5_000), T0 + 600_000);
    c.control(&Control::Play, WALL + 5_000, None).unwrap();
    c.control(&Control::Seek { at_ms: T0 + 60_000 }, WALL + 6_000, None).unwrap();
    assert_eq!(c.at(WALL + 7_000), T0 + 61_000, "a seek while playing keeps playing from there");
    let before = c;
    let refused = c.control(&Control::Seek { at_ms: T0 - 1 }, WALL + 7_000, None).unwrap_err();
    assert_eq!(refused.field.as_deref(), Some("at_ms"));
    assert_eq!(c.at(WALL + 7_000), before.at(WALL + 7_000), "a refused control changes nothing visible");
}

#[test]
fn speeds_outside_one_to_sixty_are_refused() {
    let mut c = clock();
    for speed in [0.0, 0.5, 61.0, f64::NAN, f64::INFINITY, -2.0] {
        assert!(c.control(&Control::Speed { speed }, WALL, None).is_err(), "{speed}");
    }
    assert_eq!(c.speed, 1.0);
}

#[test]
fn a_step_pauses_on_the_event_found_and_stays_put_when_there_is_none() {
    let mut c = clock();
    c.control(&Control::Play, WALL, None).unwrap();
    c.control(&Control::Step { direction: Direction::Forward }, WALL + 1_000, Some(T0 + 90_000)).unwrap();
    assert!(!c.playing);
    assert_eq!(c.at(WALL + 50_000), T0 + 90_000);
    c.control(&Control::Step { direction: Direction::Back }, WALL + 50_000, None).unwrap();
    assert_eq!(c.at(WALL + 50_000), T0 + 90_000);
}

#[test]
fn windows_must_be_ordered_and_bounded() {
    assert!(ReplayClock::new(T0, T0, WALL).is_err());
    assert!(ReplayClock::new(T0, T0 - 1, WALL).is_err());
    assert!(ReplayClock::new(T0, T0 + 32 * 24 * 3_600_000, WALL).is_err());
    assert_eq!(incident_window(T0, T0 + 1_000, 600_000), (T0 - 600_000, T0 + 601_000));
}

#[test]
fn pins_need_text_within_bounds_and_a_moment_in_the_window() {
    let c = clock();
    assert!(Pin::parse(1, T0 + 5, "trainer", "  ", &c).is_err());
    assert!(Pin::parse(1, T0 + 5, "trainer", &"x".repeat(501), &c).is_err());
    assert!(Pin::parse(1, T0 - 5, "trainer", "too early", &c).is_err());
    let pin = Pin::parse(1, T0 + 5, "trainer", "  first unit on scene ", &c).unwrap();
    assert_eq!(pin.text, "first unit on scene");
}
