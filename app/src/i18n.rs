//! French and English. The server picks the first language from the browser's `Accept-Language`
//! so the page is rendered in it; the operator can switch, and the choice is kept in the browser.
//! Texts are keyed by their English form, so an untranslated text shows in English, never blank.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// From an `Accept-Language` header or `navigator.language`: French if it comes first.
    pub fn from_header(value: &str) -> Lang {
        let first = value.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        if first.starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }
}

/// `english` in `lang`.
pub fn t(lang: Lang, english: &str) -> String {
    match lang {
        Lang::En => english.to_string(),
        Lang::Fr => {
            FR.iter().find(|(en, _)| *en == english).map_or_else(|| english.to_string(), |(_, fr)| fr.to_string())
        }
    }
}

const FR: &[(&str, &str)] = &[
    // Panels and actions.
    ("Incidents", "Incidents"),
    ("Units", "Moyens"),
    ("Messages", "Messages"),
    ("Timeline", "Chronologie"),
    ("Summary", "Synthèse"),
    ("Click the map to move it.", "Cliquer sur la carte pour le déplacer."),
    ("Follow on the map", "Suivre sur la carte"),
    ("Last fix", "Dernière position"),
    ("Assigned to", "Engagé sur"),
    ("Stop following", "Ne plus suivre"),
    ("units", "moyens"),
    ("stale", "muets"),
    ("+ New", "+ Nouveau"),
    ("New incident", "Nouvel incident"),
    ("All agencies", "Tous services"),
    ("All types", "Tous types"),
    ("Any status", "Tout état"),
    ("All incidents", "Tous incidents"),
    ("Type", "Type"),
    ("Priority", "Priorité"),
    ("Address", "Adresse"),
    ("Lead agency", "Service pilote"),
    ("Lead", "Pilote"),
    ("Create", "Créer"),
    ("Cancel", "Annuler"),
    ("Fit map", "Centrer"),
    ("Assigned", "Engagés"),
    ("Nearest available", "Disponibles les plus proches"),
    ("Assign", "Engager"),
    ("Release", "Dégager"),
    ("Notes", "Notes"),
    ("Add a note", "Ajouter une note"),
    ("Add", "Ajouter"),
    ("Callsign…", "Indicatif…"),
    ("Overdue after", "En retard après"),
    ("Follow", "Suivre"),
    ("Message…", "Message…"),
    ("Send", "Envoyer"),
    ("ack", "accusé"),
    ("Acknowledge", "Accuser réception"),
    ("Open", "Ouvrir"),
    ("Now", "Maintenant"),
    ("Replay", "Rejouer"),
    ("Live room", "Salle en direct"),
    ("REPLAY · read-only", "REJEU · lecture seule"),
    ("Following the trainer", "Suit le formateur"),
    ("Pin a note at this moment…", "Épingler une note à cet instant…"),
    ("Pin", "Épingler"),
    (
        "Replay is read-only: commands go to the live room",
        "Le rejeu est en lecture seule : les commandes vont à la salle en direct",
    ),
    ("Keyboard shortcuts", "Raccourcis clavier"),
    ("Press ? or Esc to close.", "? ou Échap pour fermer."),
    ("acknowledged by {} of {} agencies", "acquitté par {} services sur {}"),
    ("for", "depuis"),
    // Unit statuses.
    ("available", "disponible"),
    ("dispatched", "engagé"),
    ("en route", "en route"),
    ("on scene", "sur les lieux"),
    ("transporting", "en transport"),
    ("at hospital", "à l'hôpital"),
    ("out of service", "indisponible"),
    // Incident statuses.
    ("new", "nouveau"),
    ("contained", "maîtrisé"),
    ("closed", "clos"),
    // Incident types.
    ("terrorist attack", "attentat"),
    ("shooting", "fusillade"),
    ("explosion", "explosion"),
    ("fire", "incendie"),
    ("road accident", "accident de la route"),
    ("medical emergency", "urgence médicale"),
    ("public order", "ordre public"),
    ("suspicious package", "colis suspect"),
    ("hostage", "prise d'otages"),
    ("missing person", "disparition"),
    ("hazmat", "risque NRBC"),
    ("other", "autre"),
    // Lanes.
    ("incidents", "incidents"),
    ("messages", "messages"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_decides_and_missing_texts_fall_back_to_english() {
        assert_eq!(Lang::from_header("fr-FR,fr;q=0.9,en;q=0.8"), Lang::Fr);
        assert_eq!(Lang::from_header("en-US,fr;q=0.5"), Lang::En);
        assert_eq!(Lang::from_header(""), Lang::En);
        assert_eq!(t(Lang::Fr, "on scene"), "sur les lieux");
        assert_eq!(t(Lang::En, "on scene"), "on scene");
        assert_eq!(t(Lang::Fr, "not translated"), "not translated");
    }

    #[test]
    fn every_french_key_is_unique() {
        let mut keys: Vec<&str> = FR.iter().map(|(en, _)| *en).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}
