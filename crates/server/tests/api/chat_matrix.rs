//! Chat against a real Matrix homeserver (Synapse from PyPI): a major incident gets a room
//! with its responder invited and the card posted, the announcement room hears of it, status
//! updates and role changes arrive, a 📌 reaction pins a message into the timeline and
//! removing it appends a correction, `!inc` commands run as the linked person (and are
//! refused with a reason for a viewer or an unlinked user), and a homeserver outage loses and
//! doubles nothing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, until};
use crate::synapse::{MatrixUser, Synapse};

struct World {
    synapse: Synapse,
    bot: MatrixUser,
    /// Linked to writer@test.example (a responder) by localpart.
    writer: MatrixUser,
    /// Linked to reader@test.example (a viewer).
    reader: MatrixUser,
    /// Linked to nobody.
    stranger: MatrixUser,
    announcements: String,
}

async fn world() -> World {
    let synapse = Synapse::start().await;
    let bot = synapse.register("firebreak").await;
    let writer = synapse.register("writer").await;
    let reader = synapse.register("reader").await;
    let stranger = synapse.register("stranger").await;
    let (status, room) = synapse
        .call(
            &bot,
            Method::POST,
            "/createRoom",
            Some(json!({"name": "incidents", "preset": "public_chat", "room_alias_name": "incidents"})),
        )
        .await;
    assert_eq!(status, 200, "{room}");
    World {
        announcements: room["room_id"].as_str().unwrap().to_string(),
        synapse,
        bot,
        writer,
        reader,
        stranger,
    }
}

async fn app(world: &World, backend: Backend, attempts: i64) -> Option<TestApp> {
    let (url, token, announcements) = (
        world.synapse.url.clone(),
        world.bot.token.clone(),
        world.announcements.clone(),
    );
    TestApp::spawn_with(backend, move |settings| {
        let defaults = firebreak_server::Settings::default();
        settings.rules = defaults.rules;
        settings.people.join_on_action = true;
        settings.chat.matrix.homeserver_url = url;
        settings.chat.matrix.access_token = firebreak_server::settings::Secret::new(token);
        settings.chat.matrix.announcement_room = announcements;
        settings.webhooks.max_attempts = attempts;
    })
    .await
}

fn body(event: &Value) -> String {
    event["content"]["body"].as_str().unwrap_or("").to_string()
}

/// The room of INC-n once its card is posted.
async fn room_of(app: &TestApp, reference: &str) -> String {
    until("the incident's room and card", || async {
        let (_, chat) = app
            .get(&format!("/api/v1/incidents/{reference}/chat"))
            .await;
        let channel = chat["channels"].get(0)?;
        (channel["card_posted"] == true).then(|| channel["remote_id"].as_str().map(String::from))?
    })
    .await
}

async fn timeline(app: &TestApp, reference: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/api/v1/incidents/{reference}/timeline?limit=200"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn said_in(world: &World, room: &str, needle: &str) -> Vec<Value> {
    world
        .synapse
        .messages(&world.writer, room)
        .await
        .into_iter()
        .filter(|it| it["type"] == "m.room.message" && body(it).contains(needle))
        .collect()
}

#[tokio::test]
async fn a_major_incident_runs_in_a_matrix_room() {
    let world = world().await;
    let app = app(&world, Backend::Sqlite, 20).await.unwrap();
    let incident = app
        .declare(json!({"title": "Checkout fails", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    let room = room_of(&app, &reference).await;

    // The responder who declared is invited; the card is the room's first notice.
    let invites = world.synapse.invites(&world.writer).await;
    assert!(invites.contains(&room), "{invites:?} lacks {room}");
    world.synapse.join(&world.writer, &room).await;
    let cards: Vec<Value> = said_in(&world, &room, &format!("{reference}: Checkout fails"))
        .await
        .into_iter()
        .filter(|it| it["content"]["m.relates_to"].is_null())
        .collect();
    assert_eq!(cards.len(), 1, "one card, posted once (then edited)");
    let card = &cards[0];
    assert_eq!(card["sender"], world.bot.user_id.as_str());
    assert!(body(card).contains("Severity: major"), "{card}");
    assert!(
        card["content"]["formatted_body"]
            .as_str()
            .unwrap()
            .contains("<h4>")
    );

    // The announcement room heard of it (the rule's notify = announcements).
    world
        .synapse
        .join(&world.writer, &world.announcements)
        .await;
    until("the announcement", || async {
        let found: Vec<Value> = said_in(&world, &world.announcements, &reference)
            .await
            .into_iter()
            .filter(|it| it["content"]["m.relates_to"].is_null())
            .collect();
        (found.len() == 1).then_some(())
    })
    .await;

    // A status update arrives with the time of the next one; a role change is said.
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{reference}/updates"),
            json!({"message": "Rolled back the deploy", "next_update_in_minutes": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .call(
            &app.write,
            Method::PUT,
            &format!("/api/v1/incidents/{reference}/roles/lead"),
            Some(json!({"user": "writer@test.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    until("the update and the role change", || async {
        let update = said_in(&world, &room, "Rolled back the deploy").await;
        let role = said_in(&world, &room, "writer@test.example is now lead").await;
        (update.len() == 1 && body(&update[0]).contains("next update by") && role.len() == 1)
            .then_some(())
    })
    .await;
    // The card was edited in place to show the lead.
    until("the card edited with the lead", || async {
        let edits = said_in(&world, &room, "Lead: writer@test.example").await;
        edits
            .iter()
            .any(|it| it["content"]["m.relates_to"]["event_id"] == card["event_id"])
            .then_some(())
    })
    .await;

    // 📌 on a message pins it into the timeline, with its author and a permalink.
    let message = world
        .synapse
        .send(
            &world.writer,
            &room,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "cache hit rate fell to 3%"}),
        )
        .await;
    let reaction = world
        .synapse
        .send(
            &world.writer,
            &room,
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": message, "key": "📌"}}),
        )
        .await;
    let pinned = until("the pin on the timeline", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "message_pinned")
    })
    .await;
    assert_eq!(pinned["body"]["text"], "cache hit rate fell to 3%");
    assert_eq!(pinned["body"]["author"], "writer@test.example");
    assert_eq!(pinned["actor"], "writer@test.example");
    assert!(pinned["body"]["link"].as_str().unwrap().contains(&message));
    // Removing the reaction appends a correction; the pin stays.
    let (status, _) = world
        .synapse
        .call(
            &world.writer,
            Method::PUT,
            &format!(
                "/rooms/{}/redact/{}/{}",
                crate::synapse::enc(&room),
                crate::synapse::enc(&reaction),
                uuid::Uuid::now_v7().simple()
            ),
            Some(json!({"reason": "unpin"})),
        )
        .await;
    assert_eq!(status, 200);
    let correction = until("the unpin's correction", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "correction")
    })
    .await;
    assert_eq!(correction["body"]["corrects"], pinned["seq"]);
    assert!(
        timeline(&app, &reference)
            .await
            .iter()
            .any(|it| it["kind"] == "message_pinned"),
        "an unpin never deletes"
    );

    // A viewer and an unlinked user are refused with the reason.
    let (status, _) = world
        .synapse
        .call(
            &world.bot,
            Method::POST,
            &format!("/rooms/{}/invite", crate::synapse::enc(&room)),
            Some(json!({"user_id": world.reader.user_id})),
        )
        .await;
    assert_eq!(status, 200);
    world
        .synapse
        .call(
            &world.bot,
            Method::POST,
            &format!("/rooms/{}/invite", crate::synapse::enc(&room)),
            Some(json!({"user_id": world.stranger.user_id})),
        )
        .await;
    world.synapse.join(&world.reader, &room).await;
    world.synapse.join(&world.stranger, &room).await;
    world
        .synapse
        .send(
            &world.reader,
            &room,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "!inc note from a viewer"}),
        )
        .await;
    world
        .synapse
        .send(
            &world.stranger,
            &room,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "!inc note from a stranger"}),
        )
        .await;
    until("both refusals", || async {
        let refused = said_in(&world, &room, "Not done:").await;
        let viewer = refused.iter().any(|it| body(it).contains("responder"));
        let stranger = refused.iter().any(|it| {
            body(it).contains("I don't know who") && body(it).contains(&world.stranger.user_id)
        });
        (viewer && stranger).then_some(())
    })
    .await;
    assert!(
        !timeline(&app, &reference)
            .await
            .iter()
            .any(|it| it["kind"] == "note"),
        "neither refused command wrote anything"
    );

    // `!inc resolve` resolves it, as the writer; the card shows it.
    world
        .synapse
        .send(
            &world.writer,
            &room,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "!inc resolve fixed by the rollback"}),
        )
        .await;
    until("the resolve", || async {
        let (_, it) = app.get(&format!("/api/v1/incidents/{reference}")).await;
        (it["status"] == "resolved").then_some(())
    })
    .await;
    until("the resolve in the room and on the card", || async {
        let said = said_in(&world, &room, "Status: investigating → resolved").await;
        let card = said_in(&world, &room, "Status: resolved").await;
        (!said.is_empty() && !card.is_empty()).then_some(())
    })
    .await;
    until("chat to owe nothing", || async {
        let (_, chat) = app
            .get(&format!("/api/v1/incidents/{reference}/chat"))
            .await;
        (chat["backlog"] == json!([])).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_homeserver_outage_loses_nothing_and_doubles_nothing() {
    let mut world = world().await;
    let app = app(&world, Backend::Sqlite, 1000).await.unwrap();
    let incident = app
        .declare(json!({"title": "Search is slow", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    let room = room_of(&app, &reference).await;
    world.synapse.join(&world.writer, &room).await;

    world.synapse.stop().await;
    for message in ["first while down", "second while down"] {
        let (status, _) = app
            .post(
                &format!("/api/v1/incidents/{reference}/updates"),
                json!({"message": message}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "the web room works without chat"
        );
    }
    // The room shows what chat owes.
    let backlog = until("the backlog to show an error", || async {
        let (_, chat) = app
            .get(&format!("/api/v1/incidents/{reference}/chat"))
            .await;
        let backlog = chat["backlog"].get(0)?.clone();
        (backlog["pending"].as_i64()? >= 2 && backlog["last_error"].is_string()).then_some(backlog)
    })
    .await;
    assert_eq!(backlog["platform"], "matrix");
    let (cookie, _) = app.session("writer@test.example").await;
    let (_, html) = app.page(&cookie, &format!("/incidents/{reference}")).await;
    let shown = html
        .lines()
        .find(|it| it.contains("role=\"status\"") && it.contains("matrix: "))
        .unwrap_or_else(|| panic!("the room shows what chat owes:\n{html}"));
    assert!(
        shown.contains("pending") && shown.contains("last error"),
        "{shown}"
    );

    world.synapse.restart().await;
    until("both updates, in order", || async {
        let messages = world.synapse.messages(&world.writer, &room).await;
        let updates: Vec<String> = messages
            .iter()
            .map(body)
            .filter(|it| it.contains("while down"))
            .collect();
        (updates.len() == 2).then_some(updates)
    })
    .await
    .iter()
    .zip(["first while down", "second while down"])
    .for_each(|(said, want)| assert!(said.contains(want), "{said} should say {want}"));
    // Nothing doubled, however the retries went.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for needle in ["first while down", "second while down"] {
        assert_eq!(
            said_in(&world, &room, needle).await.len(),
            1,
            "{needle} once"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_page_arrives_as_a_matrix_message_and_a_check_mark_acknowledges() {
    let world = world().await;
    let app = app(&world, Backend::Sqlite, 20).await.unwrap();
    let alert = crate::chat_pages::page_writer(&app, "matrix", &world.writer.user_id).await;
    let room = until("the page's invitation", || async {
        world
            .synapse
            .invites(&world.writer)
            .await
            .into_iter()
            .next()
    })
    .await;
    world.synapse.join(&world.writer, &room).await;
    let page = until("the page in the room", || async {
        said_in(&world, &room, "Database is down")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert!(body(&page).contains("React ✅ to acknowledge"));
    world
        .synapse
        .send(
            &world.writer,
            &room,
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": page["event_id"], "key": "✅"}}),
        )
        .await;
    let it = until("the acknowledgement", || {
        crate::chat_pages::acknowledged(&app, &alert)
    })
    .await;
    assert_eq!(it["acknowledged_by"], "writer@test.example");
    until("the answer in the room", || async {
        (!said_in(&world, &room, "Acknowledged: Database is down")
            .await
            .is_empty())
        .then_some(())
    })
    .await;
    app.stop().await;
}
