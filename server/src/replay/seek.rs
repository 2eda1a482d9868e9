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
