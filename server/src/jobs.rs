//! Long work (scenario export and import) runs as a job the UI can watch: `done` of `total`, then
//! a result or a precise error. Finished jobs are kept for a while, with the file they produced.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Jobs remembered; the oldest finished one (and its file) goes first.
const KEPT: usize = 32;

#[derive(Clone, Debug)]
enum Outcome {
    Running,
    Done(Value),
    Failed(String),
}

pub struct Job {
    pub id: u32,
    pub kind: &'static str,
    done: AtomicU64,
    total: AtomicU64,
    outcome: Mutex<Outcome>,
    /// What the job produced for download (an export), deleted when the job is forgotten.
    file: Mutex<Option<(PathBuf, String)>>,
}

#[derive(Serialize)]
pub struct JobView {
    pub job_id: u32,
    pub kind: &'static str,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub done: u64,
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Job {
    pub fn progress(&self, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }

    pub fn finish(&self, result: anyhow::Result<Value>) {
        let outcome = match result {
            Ok(v) => Outcome::Done(v),
            Err(e) => {
                tracing::warn!(job = self.id, kind = self.kind, error = %format!("{e:#}"), "job failed");
                Outcome::Failed(format!("{e:#}"))
            }
        };
        *self.outcome.lock().expect("job lock") = outcome;
    }

    pub fn set_file(&self, path: PathBuf, download_name: String) {
        *self.file.lock().expect("job lock") = Some((path, download_name));
    }

    /// The finished job's file and the name to download it as.
    pub fn file(&self) -> Option<(PathBuf, String)> {
        matches!(*self.outcome.lock().expect("job lock"), Outcome::Done(_)).then(|| self.file.lock().expect("job lock").clone()).flatten()
    }

    pub fn view(&self) -> JobView {
        let outcome = self.outcome.lock().expect("job lock").clone();
        let (state, result, error) = match outcome {
            Outcome::Running => ("running", None, None),
            Outcome::Done(v) => ("done", Some(v), None),
            Outcome::Failed(e) => ("failed", None, Some(e)),
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

#[derive(Default)]
pub struct Jobs {
    next: AtomicU32,
    jobs: Mutex<BTreeMap<u32, Arc<Job>>>,
}

impl Jobs {
    pub fn start(&self, kind: &'static str) -> Arc<Job> {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let job = Arc::new(Job {
            id,
            kind,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            outcome: Mutex::new(Outcome::Running),
            file: Mutex::new(None),
        });
        let mut jobs = self.jobs.lock().expect("jobs lock");
        jobs.insert(id, job.clone());
        while jobs.len() > KEPT {
            let Some(oldest) = jobs.values().find(|j| !matches!(*j.outcome.lock().expect("job lock"), Outcome::Running)).map(|j| j.id) else { break };
            if let Some((path, _)) = jobs.remove(&oldest).and_then(|j| j.file.lock().expect("job lock").take()) {
                let _ = std::fs::remove_file(path);
            }
        }
        job
    }

    pub fn get(&self, id: u32) -> Option<Arc<Job>> {
        self.jobs.lock().expect("jobs lock").get(&id).cloned()
    }
}
