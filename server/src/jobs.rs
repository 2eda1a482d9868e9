//! Long work (scenario export and import) runs as a job the UI can watch: `done` of `total`, then
//! a result or a precise error. Finished jobs are kept for a while ([`KEPT`], [`KEPT_FOR`]), with
//! the file they produced.
//!
//! Job files live in a private folder beside the log (`<log>-jobs/`, mode 0700, emptied at every
//! start), under unpredictable names, created exclusively and never through a symbolic link, and
//! readable by the server's user only. A job's file is removed when the job fails or is forgotten.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigie_domain::api::{JobKind, JobResult, JobState, JobView};

/// Jobs remembered; the oldest finished one (and its file) goes first.
const KEPT: usize = 32;
/// A finished job (and its file) is forgotten after this long.
const KEPT_FOR: Duration = Duration::from_secs(3600);

/// A failure whose message is meant for the person who started the job (a refused file, a bad
/// range). Any other error is logged and reported as an internal failure, so paths and database
/// messages never reach a client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

#[derive(Clone, Debug)]
enum Outcome {
    Running,
    Done(JobResult),
    Failed(String),
}

pub struct Job {
    pub id: u32,
    pub kind: JobKind,
    done: AtomicU64,
    total: AtomicU64,
    outcome: Mutex<(Outcome, Option<Instant>)>,
    /// What the job produced for download (an export), deleted when the job is forgotten.
    file: Mutex<Option<(PathBuf, String)>>,
}

impl Job {
    pub fn progress(&self, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }

    pub fn finish(&self, result: anyhow::Result<JobResult>) {
        let outcome = match result {
            Ok(v) => Outcome::Done(v),
            Err(e) => {
                tracing::warn!(job = self.id, kind = %self.kind, error = %format!("{e:#}"), "job failed");
                match e.downcast_ref::<Refused>() {
                    Some(refused) => Outcome::Failed(refused.0.clone()),
                    None => Outcome::Failed(format!("the {} failed on the server; its log says why", self.kind)),
                }
            }
        };
        if matches!(outcome, Outcome::Failed(_)) {
            self.remove_file();
        }
        *self.outcome.lock() = (outcome, Some(Instant::now()));
    }

    pub fn set_file(&self, path: PathBuf, download_name: String) {
        *self.file.lock() = Some((path, download_name));
    }

    /// The finished job's file and the name to download it as.
    pub fn file(&self) -> Option<(PathBuf, String)> {
        matches!(self.outcome.lock().0, Outcome::Done(_)).then(|| self.file.lock().clone()).flatten()
    }

    fn remove_file(&self) {
        if let Some((path, _)) = self.file.lock().take() {
            let _ = std::fs::remove_file(path);
        }
    }

    fn finished_at(&self) -> Option<Instant> {
        self.outcome.lock().1
    }

    pub fn view(&self) -> JobView {
        let outcome = self.outcome.lock().0.clone();
        let (state, result, error) = match outcome {
            Outcome::Running => (JobState::Running, None, None),
            Outcome::Done(v) => (JobState::Done, Some(v), None),
            Outcome::Failed(e) => (JobState::Failed, None, Some(e)),
        };
        JobView {
            job_id: self.id,
            kind: self.kind,
            state,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            result,
            error,
        }
    }
}

pub struct Jobs {
    dir: PathBuf,
    next: AtomicU32,
    jobs: Mutex<BTreeMap<u32, Arc<Job>>>,
}

impl Jobs {
    /// Jobs whose files live in `dir`, created private (0700) and emptied of an earlier run's files.
    pub fn open(dir: PathBuf) -> anyhow::Result<Self> {
        use anyhow::Context;
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
                anyhow::bail!("{} must be a folder, not a link or a file", dir.display())
            }
            Ok(_) => {}
            Err(_) => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .with_context(|| format!("creating {}", dir.display()))?,
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("securing {}", dir.display()))?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Self { dir, next: AtomicU32::new(0), jobs: Mutex::new(BTreeMap::new()) })
    }

    pub fn start(&self, kind: JobKind) -> Arc<Job> {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let job = Arc::new(Job {
            id,
            kind,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            outcome: Mutex::new((Outcome::Running, None)),
            file: Mutex::new(None),
        });
        let mut jobs = self.jobs.lock();
        jobs.insert(id, job.clone());
        let expired: Vec<u32> =
            jobs.values().filter(|j| j.finished_at().is_some_and(|t| t.elapsed() > KEPT_FOR)).map(|j| j.id).collect();
        for id in expired {
            if let Some(j) = jobs.remove(&id) {
                j.remove_file();
            }
        }
        while jobs.len() > KEPT {
            let Some(oldest) = jobs.values().find(|j| j.finished_at().is_some()).map(|j| j.id) else { break };
            if let Some(j) = jobs.remove(&oldest) {
                j.remove_file();
            }
        }
        job
    }

    pub fn get(&self, id: u32) -> Option<Arc<Job>> {
        self.jobs.lock().get(&id).cloned()
    }

    /// A new, empty file for `job` under an unpredictable name, readable by this user only; it is
    /// the job's file from now on (removed if the job fails or is forgotten).
    pub fn create_file(&self, job: &Job) -> std::io::Result<(PathBuf, File)> {
        let path = self.dir.join(format!("{}-{}.vigie.gz", job.kind, crate::token::hex(16)));
        let file =
            OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&path)?;
        *job.file.lock() = Some((path.clone(), String::new()));
        Ok((path, file))
    }
}

/// Opens a job's file for reading, never through a symbolic link.
pub fn open_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)
}
