//! The log's signing key: Ed25519 in the C2SP signed-note key format, in a file of its own (never
//! in the database, so whoever copies the database cannot sign for the room). Created at first
//! start; `vigie audit key` prints the public half, which the room publishes to its overseers.
//!
//! The file holds two lines: the private key (`PRIVATE+KEY+name+id+…`) and the public key
//! (`name+id+…`). It is created with mode 0600 and never overwritten.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use signed_note::{Note, Signer, StandardSigner, StandardVerifier, VerifierList};

pub struct LogKey {
    pub signer: StandardSigner,
    /// The public key, as overseers are given it.
    pub public: String,
}

impl LogKey {
    /// Reads the key at `path`, creating it (named `name`) if there is none.
    pub fn load_or_create(path: &Path, name: &str) -> anyhow::Result<Self> {
        if !path.exists() {
            create(path, name)?;
        }
        Self::load(path)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the log key {}", path.display()))?;
        let mut lines = text.lines();
        let (Some(private), Some(public)) = (lines.next(), lines.next()) else {
            bail!("{} is not a Vigie log key (two lines: private, public)", path.display());
        };
        let signer = StandardSigner::new(private.trim())
            .map_err(|e| anyhow::anyhow!("{}: the private key is not valid: {e}", path.display()))?;
        let key = LogKey { signer, public: public.trim().to_owned() };
        // The two halves belong together: a signature by one verifies with the other.
        let mut probe = Note::new(b"vigie key check\n", &[])?;
        probe.add_sigs(&[&key.signer])?;
        let verifier = verifier(&key.public)?;
        if probe.verify(&VerifierList::new(vec![Box::new(verifier)])).is_err() {
            bail!("{}: the public key does not match the private key", path.display());
        }
        Ok(key)
    }

    pub fn name(&self) -> &str {
        self.signer.name()
    }
}

/// A verifier for a public key as printed by `vigie audit key`.
pub fn verifier(public: &str) -> anyhow::Result<StandardVerifier> {
    StandardVerifier::new(public.trim()).map_err(|e| anyhow::anyhow!("not a signed-note public key ({e}): {public}"))
}

fn create(path: &Path, name: &str) -> anyhow::Result<()> {
    if !signed_note::is_key_name_valid(name) {
        bail!("the log's name {name:?} may not be empty or hold spaces or '+'");
    }
    let (private, public) = signed_note::generate_key(&mut rand_core_06::OsRng, name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating the log key {}", path.display()))?;
    writeln!(file, "{private}\n{public}")?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), key = %public, "created the log's signing key");
    Ok(())
}
