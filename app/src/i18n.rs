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

/// `english` in `lang`, its `{}` filled with `values` in order (a template of the table).
pub fn tf(lang: Lang, english: &str, values: &[&dyn std::fmt::Display]) -> String {
    values.iter().fold(t(lang, english), |text, v| text.replacen("{}", &v.to_string(), 1))
}

const FR: &[(&str, &str)] = &[
    // Panels and actions.
    ("Incidents", "Incidents"),
    ("Units", "Moyens"),
    ("Messages", "Messages"),
    ("All room", "Toute la salle"),
    ("Alerts", "Alertes"),
    // The one search.
    ("Search everything", "Tout rechercher"),
    ("Search: units, incidents, places…", "Rechercher : moyens, incidents, lieux…"),
    ("Search this moment: units, incidents, places…", "Rechercher à cet instant : moyens, incidents, lieux…"),
    ("searching…", "recherche…"),
    ("Nothing found", "Aucun résultat"),
    ("More found: type more words", "Autres résultats : préciser la recherche"),
    ("Unit", "Moyen"),
    ("Alert", "Alerte"),
    ("Place", "Lieu"),
    ("in force", "en vigueur"),
    ("not in force", "pas en vigueur"),
    ("cancelled", "annulée"),
    ("extreme", "extrême"),
    ("severe", "sévère"),
    ("moderate", "modérée"),
    ("minor", "mineure"),
    ("search everything: units, incidents, messages, alerts, places", "tout rechercher : moyens, incidents, messages, alertes, lieux"),
    ("Timeline", "Chronologie"),
    ("Summary", "Synthèse"),
    ("Click the map to move it.", "Cliquer sur la carte pour le déplacer."),
    ("Follow on the map", "Suivre sur la carte"),
    ("Last fix", "Dernière position"),
    ("Assigned to", "Engagé sur"),
    ("Stop following", "Ne plus suivre"),
    ("units", "moyens"),
    ("stale", "sans position"),
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
    // Unit kinds.
    ("patrol car", "véhicule de patrouille"),
    ("motorcycle", "moto"),
    ("foot patrol", "patrouille à pied"),
    ("tactical team", "groupe d'intervention"),
    ("fire engine", "fourgon d'incendie"),
    ("ladder", "échelle"),
    ("rescue unit", "véhicule de secours"),
    ("ambulance", "ambulance"),
    ("medical team", "équipe médicale"),
    ("command vehicle", "poste de commandement"),
    ("helicopter", "hélicoptère"),
    ("boat", "embarcation"),
    ("liaison officer", "officier de liaison"),
    // Message priorities.
    ("flash", "flash"),
    ("immediate", "immédiat"),
    ("priority", "prioritaire"),
    ("routine", "routine"),
    // The top bar, the link and the status line.
    ("connecting", "connexion"),
    ("live", "en direct"),
    ("reconnecting…", "reconnexion…"),
    ("sending…", "envoi…"),
    ("Ring on flash messages", "Sonner aux messages flash"),
    ("Keyboard shortcuts (?)", "Raccourcis clavier (?)"),
    ("Operator", "Opérateur"),
    ("Agency", "Service"),
    // Signing in, roles, need-to-know.
    ("Sign out", "Se déconnecter"),
    ("Sign in", "Se connecter"),
    ("Sign in to the operations room", "Connexion à la salle de commandement"),
    ("Login", "Identifiant"),
    ("Password", "Mot de passe"),
    ("Wrong login or password", "Identifiant ou mot de passe incorrect"),
    ("Demo: sign in as", "Démo : se connecter en tant que"),
    (
        "Demo accounts exist only in vigie demo; their password is demo.",
        "Les comptes de démonstration n'existent que dans vigie demo ; leur mot de passe est demo.",
    ),
    ("dispatcher", "opérateur"),
    ("commander", "commandant"),
    ("liaison", "officier de liaison"),
    ("trainer", "formateur"),
    ("trainee", "stagiaire"),
    ("auditor", "contrôleur"),
    ("admin", "administrateur"),
    (
        "Restricted: only {} and the agencies it shares with see it",
        "Restreint : seuls {} et les services avec qui il est partagé le voient",
    ),
    ("restricted", "restreint"),
    ("hidden from", "masqué pour"),
    ("Shared with", "Partagé avec"),
    ("Share with", "Partager avec"),
    ("Restrict", "Restreindre"),
    ("Open to the room", "Ouvrir à toute la salle"),
    ("Stop sharing with", "Ne plus partager avec"),
    ("Need-to-know", "Besoin d'en connaître"),
    ("Share", "Partager"),
    ("Code", "Code"),
    ("Reset second factor", "Réinitialiser le second facteur"),
    ("second factor reset", "second facteur réinitialisé"),
    ("Second factor by agency", "Second facteur par service"),
    ("Admins and auditors always need one. An agency may require it of all its accounts.", "Les administrateurs et les contrôleurs en ont toujours besoin. Un service peut l'exiger de tous ses comptes."),
    ("Require", "Exiger"),
    ("Make optional", "Rendre facultatif"),
    ("second factor required", "second facteur exigé"),
    ("second factor optional", "second facteur facultatif"),
    ("Confirm", "Confirmer"),
    ("Enter the code from your authenticator app", "Saisissez le code de votre application d'authentification"),
    ("Wrong login, password or code", "Identifiant, mot de passe ou code incorrect"),
    ("That is not the current code; try the next one", "Ce n'est pas le code actuel ; essayez le suivant"),
    ("This account needs a second factor. Scan the code with an authenticator app, then enter the code it shows.", "Ce compte exige un second facteur. Scannez le code avec une application d'authentification, puis saisissez le code qu'elle affiche."),
    ("Or type this key:", "Ou saisissez cette clé :"),
    ("Record for oversight", "Registre de contrôle"),
    ("Content purged under", "Contenu purgé selon"),
    ("before", "avant"),
    ("Verification", "Vérification"),
    ("Intact", "Intact"),
    ("BROKEN", "ALTÉRÉ"),
    ("checkpoints", "points de contrôle"),
    ("first broken event", "premier événement altéré"),
    ("verifying…", "vérification en cours…"),
    ("Not verified yet", "Pas encore vérifié"),
    ("Verify now", "Vérifier maintenant"),
    ("Who did what", "Qui a fait quoi"),
    ("User", "Utilisateur"),
    ("Incident", "Incident"),
    ("Kind", "Type"),
    ("Everything but positions", "Tout sauf les positions"),
    ("Access and administration", "Accès et administration"),
    ("Search", "Rechercher"),
    ("Export this range", "Exporter cette période"),
    ("Time (UTC)", "Heure (UTC)"),
    ("Who", "Qui"),
    ("What", "Quoi"),
    ("purged under", "purgé selon"),
    ("Older", "Plus anciens"),
    ("Entry", "Entrée"),
    ("As stored", "Tel qu'enregistré"),
    ("Leaf hash", "Empreinte de la feuille"),
    ("Inclusion proof", "Preuve d'inclusion"),
    ("Signed checkpoint", "Point de contrôle signé"),
    ("Administration", "Administration"),
    ("Accounts", "Comptes"),
    ("Name", "Nom"),
    ("Roles", "Rôles"),
    ("Enable", "Activer"),
    ("Disable", "Désactiver"),
    ("enabled", "activé"),
    ("disabled", "désactivé"),
    ("Add account", "Ajouter le compte"),
    ("Account added:", "Compte ajouté :"),
    ("API tokens", "Jetons d'API"),
    ("Account", "Compte"),
    ("Scopes", "Portées"),
    ("revoked", "révoqué"),
    ("Revoke", "Révoquer"),
    ("Revoked token", "Jeton révoqué"),
    ("Issue token", "Émettre le jeton"),
    ("Token issued: copy it now, it is shown once", "Jeton émis : copiez-le maintenant, il n'est affiché qu'une fois"),
    ("Sharing between agencies", "Partage entre services"),
    (
        "An agency sees every restricted incident of the agencies that share with it.",
        "Un service voit tous les incidents restreints des services qui partagent avec lui.",
    ),
    ("From", "De"),
    ("To", "Vers"),
    ("Stop sharing", "Cesser de partager"),
    ("mine", "le mien"),
    ("Note on", "Note sur"),
    ("Message sent", "Message envoyé"),
    ("Acknowledged", "Accusé de réception"),
    ("Replay this incident's window for a debrief", "Rejouer la période de cet incident pour un débriefing"),
    (
        "The replay could not read its log; the server's log says why",
        "Le rejeu n'a pas pu lire son journal ; le journal du serveur en donne la raison",
    ),
    ("The server refused a message from this screen", "Le serveur a refusé un message de cet écran"),
    ("{} ago", "il y a {}"),
    ("+{} more", "+{} autres"),
    // The overview.
    ("Operations room", "Salle opérationnelle"),
    ("Open incidents", "Incidents en cours"),
    ("total", "total"),
    ("Units by agency", "Moyens par service"),
    ("Latest events", "Derniers événements"),
    // Keyboard shortcuts.
    ("show or hide this help", "afficher ou masquer cette aide"),
    ("new incident (at the last incident's place)", "nouvel incident (au lieu du dernier)"),
    ("next / previous incident in the queue", "incident suivant / précédent de la file"),
    ("fit the map to the selected incident", "centrer la carte sur l'incident choisi"),
    ("units panel", "panneau des moyens"),
    ("messages panel", "panneau des messages"),
    ("acknowledge the flash message on screen", "accuser réception du message flash affiché"),
    ("close the form or the selection", "fermer le formulaire ou la sélection"),
    // The replay home.
    ("Replay & training", "Rejeu et entraînement"),
    ("← Live room", "← Salle en direct"),
    ("Start a replay", "Lancer un rejeu"),
    ("Title", "Titre"),
    ("From (UTC)", "Du (UTC)"),
    ("To (UTC)", "Au (UTC)"),
    ("Last hour", "Dernière heure"),
    ("Last 6 h", "6 dernières heures"),
    ("Last 24 h", "24 dernières heures"),
    ("…or an incident", "…ou un incident"),
    ("…or an imported scenario", "…ou un scénario importé"),
    ("events", "événements"),
    ("Start replay", "Lancer le rejeu"),
    ("Export this range as a scenario file", "Exporter cette période en fichier de scénario"),
    ("Import a scenario file", "Importer un fichier de scénario"),
    ("Import", "Importer"),
    ("Download the scenario file", "Télécharger le fichier de scénario"),
    ("Sessions", "Sessions"),
    ("Give the start and end (UTC)", "Indiquer le début et la fin (UTC)"),
    ("Choose a scenario file first", "Choisir d'abord un fichier de scénario"),
    ("Uploading…", "Envoi…"),
    ("Exporting…", "Export…"),
    ("{}: {} of {} events", "{} : {} événements sur {}"),
    ("{} done: {} events", "{} terminé : {} événements"),
    ("Failed: {}", "Échec : {}"),
    ("unknown error", "erreur inconnue"),
    ("export", "export"),
    ("import", "import"),
    // Lanes.
    ("incidents", "incidents"),
    ("messages", "messages"),
];

/// Words of the English texts that French never uses: what must not be read on a French screen
/// (the test of the French room checks its visible text against them).
pub fn english_only_words() -> Vec<String> {
    let french: std::collections::BTreeSet<String> = FR.iter().flat_map(|(_, fr)| words_of(fr)).collect();
    let mut english: Vec<String> =
        FR.iter().flat_map(|(en, _)| words_of(en)).filter(|w| w.chars().count() > 3 && !french.contains(w)).collect();
    english.sort();
    english.dedup();
    english
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

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
        assert_eq!(tf(Lang::Fr, "acknowledged by {} of {} agencies", &[&2, &3]), "acquitté par 2 services sur 3");
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
