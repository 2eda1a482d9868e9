//! The room at a past moment: the nearest snapshot at or before it (or a state already held, when
//! that is nearer) plus the events up to it, folded with the same reducer as the live room.

use vigie_domain::{Seq, State};

use crate::store::replay::Log;
use crate::store::Store;

/// The room as `log` had it at `at_ms`: every event committed at or before `at_ms` folded in.
/// `near` is a state the caller already holds; it is used when it is nearer than any snapshot.
/// `progress(done, total)` is told after each page.
pub async fn state_at(
    store: &Store,
    log: Log,
    at_ms: i64,
    near: Option<State>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<State> {
    let up_to = store.seq_at(log, at_ms).await?;
    let snapshot = store.snapshot_before(log, at_ms).await?;
    let near = near.filter(|s| s.seq <= up_to);
    let mut state = match (snapshot, near) {
        (Some(snap), Some(held)) if held.seq > snap.seq => held,
        (Some(snap), _) => snap,
        (None, Some(held)) => held,
        (None, None) => State::default(),
    };
    let start = state.seq;
    fold_until(store, log, &mut state, up_to, |done| progress(done - start, up_to.saturating_sub(start))).await?;
    Ok(state)
}

/// The room as `log` had it right after seq `seq`: the nearest snapshot at or before it plus the
/// events up to it. What a viewer's record is filtered from ([`vigie_domain::visibility::record_for`]).
pub async fn state_after_seq(store: &Store, log: Log, seq: Seq) -> anyhow::Result<State> {
    let mut state = State::default();
    if seq > 0 {
        // A snapshot is found by time; several events may share a millisecond, so step back until
        // the snapshot is not past `seq`.
        let mut at_ms = store.log_range(log, seq - 1, seq, 1, false).await?.events.first().map(|e| e.at_ms);
        while let Some(t) = at_ms {
            match store.snapshot_before(log, t).await? {
                Some(snap) if snap.seq <= seq => {
                    state = snap;
                    break;
                }
                Some(_) => at_ms = t.checked_sub(1),
                None => break,
            }
        }
    }
    fold_until(store, log, &mut state, seq, |_| {}).await?;
    Ok(state)
}

/// Folds the events after `state.seq` up to seq `up_to` into `state`, a page at a time.
async fn fold_until(
    store: &Store,
    log: Log,
    state: &mut State,
    up_to: Seq,
    mut after_page: impl FnMut(Seq),
) -> anyhow::Result<()> {
    let mut pages = store.pages(log, state.seq, up_to);
    while let Some(page) = pages.next().await? {
        page.iter().for_each(|e| state.apply(e));
        after_page(state.seq);
    }
    Ok(())
}
