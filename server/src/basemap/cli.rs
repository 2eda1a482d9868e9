//! `vigie basemap import|list|remove`: what a room's administrator runs to bring its own maps.

use anyhow::Context;
use std::path::PathBuf;

use super::{prepare, Role};
use crate::store::Store;

/// Larger files are refused: they would not draw fluidly on a tablet anyway.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(clap::Subcommand)]
pub enum Action {
    /// Import a GeoJSON file as a layer (re-importing a name replaces it).
    Import {
        file: PathBuf,
        /// Layer name (letters, digits, '-', '_'); defaults to the file name.
        #[arg(long)]
        name: Option<String>,
        /// `base` (always drawn) or `overlay` (switchable jurisdictions).
        #[arg(long, value_enum, default_value = "overlay")]
        role: Role,
        /// Property to show as each feature's name; defaults to the first of name, label, BoroName, Precinct, FireBN…
        #[arg(long)]
        label: Option<String>,
        /// Keep a code of each feature for CAP alerts' geocodes, as NAME=PROPERTY (e.g.
        /// `INSEE=c_arinsee`, `SAME=fips`): an alert area given by that code is drawn with the
        /// feature's outline. Repeatable.
        #[arg(long = "geocode", value_name = "NAME=PROPERTY")]
        geocodes: Vec<super::Geocoding>,
    },
    /// List the imported layers.
    List,
    /// Remove a layer.
    Remove { name: String },
}

pub async fn run(action: Action, database_url: &str) -> anyhow::Result<()> {
    let store = Store::open(database_url).await?;
    match action {
        Action::Import { file, name, role, label, geocodes } => {
            let size = std::fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?.len();
            anyhow::ensure!(
                size <= MAX_FILE_BYTES,
                "{} is {size} bytes; the limit is {MAX_FILE_BYTES}",
                file.display()
            );
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = name.unwrap_or_else(|| default_name(&file));
            let layer = prepare(&name, role, &text, label.as_deref(), &geocodes)
                .with_context(|| format!("importing {}", file.display()))?;
            let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
            store.put_layer(&layer, now_ms).await?;
            let i = &layer.info;
            println!(
                "imported {} as {} layer {:?}: {} features, labels from {}, {} KiB (from {} KiB)",
                file.display(),
                i.role.as_str(),
                i.name,
                i.features,
                i.label_property.as_deref().unwrap_or("(none)"),
                layer.geojson.len() / 1024,
                size / 1024
            );
        }
        Action::List => {
            for l in store.layers().await? {
                println!(
                    "{}\t{}\t{} features\tlabel {}",
                    l.name,
                    l.role.as_str(),
                    l.features,
                    l.label_property.unwrap_or_default()
                );
            }
        }
        Action::Remove { name } => {
            anyhow::ensure!(store.remove_layer(&name).await?, "no layer named {name:?}");
            println!("removed {name:?}");
        }
    }
    Ok(())
}

/// `nyc-police_precincts.geojson` → `nyc-police_precincts`, keeping only allowed characters.
fn default_name(file: &std::path::Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    stem.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(super::MAX_NAME_CHARS).collect()
}
