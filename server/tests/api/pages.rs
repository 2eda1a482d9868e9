//! The pages as the server renders them.

use crate::support::*;

/// The text a person reads on a rendered page: no tags, scripts, styles or attribute values.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let skip_to = ["<script", "<style"]
            .iter()
            .find(|t| tag.starts_with(**t))
            .map(|t| format!("</{}>", &t[1..]))
            .unwrap_or_else(|| ">".into());
        rest = tag.find(&skip_to).map_or("", |end| &tag[end + skip_to.len()..]);
    }
    text.push_str(rest);
    text
}

#[tokio::test]
async fn the_french_room_shows_no_english_word() {
    let app = spawn_app().await;
    app.seed(4).await;
    let english = app::i18n::english_only_words();
    assert!(english.iter().any(|w| w == "available"), "the list is built from the table: {english:?}");
    for path in ["/", "/overview", "/replay"] {
        let html = app
            .http
            .get(format!("{}{path}", app.base))
            .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let text = visible_text(&html).to_lowercase();
        let words: std::collections::BTreeSet<&str> =
            text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).collect();
        let left: Vec<&String> = english.iter().filter(|w| words.contains(w.as_str())).collect();
        assert!(left.is_empty(), "English on the French page {path}: {left:?}\n{text}");
        assert!(words.contains("moyens") || words.contains("rejeu"), "{path} is in French: {text}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_servers_of_the_process_start() {
    // Leptos generates the UI's route list by running the app with every resource suppressed
    // process-wide, and a resource first polled meanwhile waits forever: a page one server was
    // rendering while another server of the same process started never finished (a 30 s timeout
    // in CI once). Vigie generates the list once per process.
    let app = spawn_app().await;
    app.seed(2).await;
    let started = std::sync::atomic::AtomicBool::new(false);
    let starting = async {
        for _ in 0..20 {
            spawn_app().await.stop().await;
        }
        started.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let render = |client: usize| {
        let (app, started) = (&app, &started);
        async move {
            let mut n = 0;
            while !started.load(std::sync::atomic::Ordering::Relaxed) || n < 5 {
                let page = app.http.get(&app.base).send();
                let html = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                    page.await.unwrap().text().await.unwrap()
                })
                .await
                .unwrap_or_else(|_| panic!("page {n} of client {client} stalled while other servers started"));
                assert!(html.contains("Quai de la Tournelle"), "page {n} has the room");
                n += 1;
            }
            n
        }
    };
    let ((), a, b, c) = tokio::join!(starting, render(0), render(1), render(2));
    assert!(a + b + c >= 15, "pages were rendered during the starts: {}", a + b + c);
    app.stop().await;
}
