//! The Merkle tree over the log, stored as Go's tlog stores it (every leaf and every complete
//! subtree by its stored-hash index, `audit_hashes`), with the proofs of `tlog_tiles`.
//!
//! The writer keeps the tree's right edge in memory ([`Frontier`]: the latest complete subtree at
//! each level, at most 64 hashes): appending a leaf and computing the root need nothing else, so
//! the tree costs the writer a couple of hashes and rows per event and no reads. Proofs read the
//! few hashes they need from the table.

use std::collections::HashMap;

use anyhow::{bail, Context};
use sqlx::{Row, SqlitePool};
use tlog_tiles::tlog::{self, split_stored_hash_index, stored_hash_index, Hash, HashReader};

/// The tree's right edge: the latest complete subtree at each level.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    size: u64,
    /// `edge[level]`: (index at that level, hash) of the latest complete subtree of that height.
    edge: Vec<Option<(u64, Hash)>>,
}

/// A (size, root) pair: what a checkpoint signs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf; returns the hashes to store (index, hash): the leaf and the subtrees
    /// it completes.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u64, Hash)> {
        let n = self.size;
        let hashes = tlog::stored_hashes_for_record_hash(n, leaf, &*self)
            .expect("the frontier holds every hash appending reads");
        let first = stored_hash_index(0, n);
        let mut out = Vec::with_capacity(hashes.len());
        for (i, h) in hashes.into_iter().enumerate() {
            let (level, index) = split_stored_hash_index(first + i as u64);
            self.set(level, index, h);
            out.push((first + i as u64, h));
        }
        self.size += 1;
        out
    }

    pub fn head(&self) -> TreeHead {
        let root = tlog::tree_hash(self.size, self).expect("the frontier holds the root's subtrees");
        TreeHead { size: self.size, root }
    }

    fn set(&mut self, level: u8, index: u64, hash: Hash) {
        let level = usize::from(level);
        if self.edge.len() <= level {
            self.edge.resize(level + 1, None);
        }
        self.edge[level] = Some((index, hash));
    }

    /// The stored indexes a frontier of `size` leaves holds.
    fn indexes(size: u64) -> Vec<u64> {
        (0..64u8).filter(|l| (size >> l) > 0).map(|l| stored_hash_index(l, (size >> l) - 1)).collect()
    }

    /// The frontier after `size` leaves from its left edge: the hashes of the complete subtrees
    /// making up those leaves, largest first ([`left_edge_indexes`]' order).
    pub fn from_left_edge(size: u64, hashes: &[Hash]) -> anyhow::Result<Self> {
        let indexes = left_edge_indexes(size);
        if indexes.len() != hashes.len() {
            bail!("the left edge of {size} events has {} hashes, not {}", indexes.len(), hashes.len());
        }
        let mut frontier = Frontier { size, edge: Vec::new() };
        for (idx, h) in indexes.into_iter().zip(hashes) {
            let (level, index) = split_stored_hash_index(idx);
            frontier.set(level, index, *h);
        }
        Ok(frontier)
    }

    /// The frontier of the stored tree of `size` leaves.
    pub async fn load(pool: &SqlitePool, size: u64) -> anyhow::Result<Self> {
        let mut frontier = Frontier { size, edge: Vec::new() };
        let indexes = Self::indexes(size);
        let hashes = read(pool, &indexes).await?;
        for (idx, h) in indexes.into_iter().zip(hashes) {
            let (level, index) = split_stored_hash_index(idx);
            frontier.set(level, index, h);
        }
        Ok(frontier)
    }
}

impl HashReader for Frontier {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|&idx| {
                let (level, index) = split_stored_hash_index(idx);
                match self.edge.get(usize::from(level)).copied().flatten() {
                    Some((i, h)) if i == index => Ok(h),
                    _ => Err(tlog::Error::IndexesNotInTree),
                }
            })
            .collect()
    }
}

/// How many leaves the stored tree has: the record whose hashes were stored last.
pub async fn stored_size(pool: &SqlitePool) -> anyhow::Result<u64> {
    let row = sqlx::query("SELECT MAX(idx) AS last FROM audit_hashes").fetch_one(pool).await?;
    let Some(last) = row.get::<Option<i64>, _>("last") else { return Ok(0) };
    let (level, index) = split_stored_hash_index(last as u64);
    // The last hash stored for record n completes the subtree ending at n.
    Ok(((index + 1) << level).max(1))
}

/// Reads stored hashes by index, in the order asked; a missing one is an error naming it.
pub async fn read(pool: &SqlitePool, indexes: &[u64]) -> anyhow::Result<Vec<Hash>> {
    let mut found: HashMap<u64, Hash> = HashMap::with_capacity(indexes.len());
    // Proofs and roots ask for at most a few dozen hashes; chunks keep each query's parameters few.
    for chunk in indexes.chunks(200) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT idx, hash FROM audit_hashes WHERE idx IN ({marks})");
        let mut query = sqlx::query(&sql);
        for idx in chunk {
            query = query.bind(*idx as i64);
        }
        for row in query.fetch_all(pool).await? {
            let bytes: &[u8] = row.get("hash");
            let hash = Hash(bytes.try_into().context("a stored hash is not 32 bytes")?);
            found.insert(row.get::<i64, _>("idx") as u64, hash);
        }
    }
    indexes
        .iter()
        .map(|idx| {
            found.get(idx).copied().with_context(|| {
                let (level, n) = split_stored_hash_index(*idx);
                format!("the tree has no hash at level {level}, index {n}")
            })
        })
        .collect()
}

/// Runs a tlog computation that reads hashes, against the table: once to learn which hashes it
/// reads, then with those hashes (tlog's readers are synchronous; the table is not).
async fn with_hashes<T>(pool: &SqlitePool, f: impl Fn(&dyn HashReader) -> Result<T, tlog::Error>) -> anyhow::Result<T> {
    struct Asked(std::sync::Mutex<Vec<u64>>);
    impl HashReader for Asked {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
            self.0.lock().expect("not poisoned").extend_from_slice(indexes);
            Ok(vec![Hash([0; 32]); indexes.len()])
        }
    }
    struct Known(HashMap<u64, Hash>);
    impl HashReader for Known {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
            indexes.iter().map(|i| self.0.get(i).copied().ok_or(tlog::Error::IndexesNotInTree)).collect()
        }
    }
    let asked = Asked(Default::default());
    f(&asked).map_err(|e| anyhow::anyhow!("{e}"))?;
    let indexes = asked.0.into_inner().expect("not poisoned");
    let hashes = read(pool, &indexes).await?;
    let known = Known(indexes.into_iter().zip(hashes).collect());
    f(&known).map_err(|e| anyhow::anyhow!("{e}"))
}

struct Dyn<'a>(&'a dyn HashReader);
impl HashReader for Dyn<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        self.0.read_hashes(indexes)
    }
}

/// The root of the stored tree's first `size` leaves.
pub async fn root_at(pool: &SqlitePool, size: u64) -> anyhow::Result<Hash> {
    with_hashes(pool, |r| tlog::tree_hash(size, &Dyn(r))).await
}

/// Proof that leaf `index` (seq − 1) is in the tree of `size` leaves.
pub async fn inclusion(pool: &SqlitePool, size: u64, index: u64) -> anyhow::Result<Vec<Hash>> {
    if index >= size {
        bail!("event {} is not in a tree of {size} events", index + 1);
    }
    with_hashes(pool, |r| tlog::prove_record(size, index, &Dyn(r))).await
}

/// Proof that the tree of `old` leaves is a prefix of the tree of `size` leaves.
pub async fn consistency(pool: &SqlitePool, size: u64, old: u64) -> anyhow::Result<Vec<Hash>> {
    if old == 0 || old > size {
        bail!("no consistency proof from size {old} to size {size}");
    }
    with_hashes(pool, |r| tlog::prove_tree(size, old, &Dyn(r))).await
}

/// The stored indexes of the complete subtrees that make up the first `size` leaves, left to right
/// (an export's "left edge": with the leaves after it, a verifier recomputes a root).
pub fn left_edge_indexes(size: u64) -> Vec<u64> {
    if size == 0 {
        return Vec::new();
    }
    tlog::sub_tree_index(0, size, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> Hash {
        tlog::record_hash(&i.to_be_bytes())
    }

    #[test]
    fn the_frontier_gives_the_same_roots_as_the_whole_tree() {
        let mut frontier = Frontier::default();
        let mut stored: HashMap<u64, Hash> = HashMap::new();
        struct All<'a>(&'a HashMap<u64, Hash>);
        impl HashReader for All<'_> {
            fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
                Ok(indexes.iter().map(|i| self.0[i]).collect())
            }
        }
        for i in 0..300 {
            stored.extend(frontier.push(leaf(i)));
            let whole = tlog::tree_hash(i + 1, &All(&stored)).unwrap();
            assert_eq!(frontier.head().root, whole, "size {}", i + 1);
            // A frontier rebuilt from the stored hashes continues the same.
            let indexes = Frontier::indexes(i + 1);
            let rebuilt = All(&stored).read_hashes(&indexes).unwrap();
            let mut again = Frontier { size: i + 1, edge: Vec::new() };
            for (idx, h) in indexes.into_iter().zip(rebuilt) {
                let (l, n) = split_stored_hash_index(idx);
                again.set(l, n, h);
            }
            assert_eq!(again.head(), frontier.head());
        }
        // An RFC 6962 property the proofs rely on: proofs check against the roots.
        let t = 300;
        let root = frontier.head().root;
        for n in [0, 1, 7, 128, 299] {
            let proof = tlog::prove_record(t, n, &All(&stored)).unwrap();
            tlog::check_record(&proof, t, root, n, leaf(n)).unwrap();
        }
        let old = tlog::tree_hash(100, &All(&stored)).unwrap();
        let proof = tlog::prove_tree(t, 100, &All(&stored)).unwrap();
        tlog::check_tree(&proof, t, root, 100, old).unwrap();
    }
}
