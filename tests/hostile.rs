//! Hostile input, one table row per request: each is refused with the
//! expected SCIM error, and afterwards the team reads back exactly as before.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, assert_scim_error, json};
use reqwest::Method;
use serde_json::Value;

/// (method, path, body, status, scimType, text the error's detail contains).
/// In paths `{user}` and `{group}` stand for the seeded resources' ids.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
    &'static str,
);

const USER: &str = r#""schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]"#;
const GROUP: &str = r#""schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]"#;
const PATCH: &str = r#""schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]"#;
const BULK: &str = r#""schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]"#;
const SEARCH: &str = r#""schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]"#;

/// Bodies are templates: `USER`, `GROUP`, `PATCH`, `BULK` and `SEARCH`
/// stand for the matching `"schemas"` member.
fn body_text(template: &str) -> String {
    template
        .replace("USER", USER)
        .replace("GROUP", GROUP)
        .replace("PATCH", PATCH)
        .replace("BULK", BULK)
        .replace("SEARCH", SEARCH)
}

const CONTROL_CHARACTERS: &[Case] = &[
    (
        "POST",
        "/Users",
        r#"{USER,"userName":"nul\u0000@example.com"}"#,
        400,
        Some("invalidValue"),
        "userName: control character U+0000",
    ),
    (
        "POST",
        "/Users",
        r#"{USER,"userName":"x@example.com","name":{"givenName":"a\u0001"}}"#,
        400,
        Some("invalidValue"),
        "name.givenName",
    ),
    (
        "POST",
        "/Users",
        r#"{USER,"userName":"x@example.com","emails":[{"value":"x@example.com\u001f"}]}"#,
        400,
        Some("invalidValue"),
        "emails[0].value",
    ),
    (
        "POST",
        "/Users",
        r#"{USER,"userName":"x@example.com","custom\u0000":"v"}"#,
        400,
        Some("invalidValue"),
        "custom\\0",
    ),
    (
        "PUT",
        "/Users/{user}",
        r#"{USER,"userName":"ann@example.com","displayName":"Ann\u0000"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{PATCH,"Operations":[{"op":"replace","path":"title","value":"\u0000"}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{PATCH,"Operations":[{"op":"replace","value":{"displayName":"a\u0008b"}}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value.displayName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{PATCH,"Operations":[{"op":"replace","path":"title\u0000","value":"x"}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].path",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{PATCH,"Operations":[{"op":"replace","path":"emails[value eq \"\\u0000\"].type","value":"x"}]}"#,
        400,
        Some("invalidPath"),
        "control character",
    ),
    (
        "POST",
        "/Groups",
        r#"{GROUP,"displayName":"Sales\u0000"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{PATCH,"Operations":[{"op":"add","path":"members","value":[{"value":"\u0000"}]}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value[0].value",
    ),
    (
        "POST",
        "/Bulk",
        r#"{BULK,"Operations":[{"method":"POST","path":"/Users","bulkId":"b","data":{USER,"userName":"b\u0000"}}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].data.userName",
    ),
    (
        "GET",
        "/Users?filter=userName%20eq%20%22%5Cu0000%22",
        "",
        400,
        Some("invalidFilter"),
        "control character U+0000",
    ),
    (
        "GET",
        "/Groups?filter=displayName%20sw%20%22a%5Cu0007%22",
        "",
        400,
        Some("invalidFilter"),
        "control character U+0007",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{SEARCH,"filter":"userName eq \"\\u0000\""}"#,
        400,
        Some("invalidFilter"),
        "control character U+0000",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{SEARCH,"sortBy":"userName\u0000"}"#,
        400,
        Some("invalidValue"),
        "sortBy",
    ),
    // A raw control character inside a JSON string is not JSON at all.
    (
        "POST",
        "/Users",
        "{USER,\"userName\":\"raw\u{0}@example.com\"}",
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    // Lone surrogates cannot be decoded into text: serde_json refuses them.
    (
        "POST",
        "/Users",
        r#"{USER,"userName":"\ud800@example.com"}"#,
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{PATCH,"Operations":[{"op":"replace","path":"title","value":"\udc00"}]}"#,
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    ("GET", "/Users/%00", "", 404, None, ""),
    ("GET", "/Groups/%00", "", 404, None, ""),
    (
        "PATCH",
        "/Users/%00",
        r#"{PATCH,"Operations":[{"op":"replace","path":"title","value":"x"}]}"#,
        404,
        None,
        "",
    ),
    ("DELETE", "/Groups/%00", "", 404, None, ""),
    (
        "GET",
        "/Users?sortBy=%00",
        "",
        400,
        Some("invalidValue"),
        "cannot sort by",
    ),
    (
        "GET",
        "/Users?attributes=%00",
        "",
        400,
        Some("invalidValue"),
        "invalid attribute name",
    ),
    (
        "GET",
        "/Users?cursor=%00",
        "",
        400,
        Some("invalidCursor"),
        "not a cursor",
    ),
    (
        "GET",
        "/Users?startIndex=%00",
        "",
        400,
        Some("invalidValue"),
        "startIndex must be an integer",
    ),
];

/// What must not change: the seeded user and group, and the totals.
async fn snapshot(app: &TestApp, user: &str, group: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/Users/{user}"),
        format!("/Groups/{group}"),
        "/Users?count=0".to_owned(),
        "/Groups?count=0".to_owned(),
    ] {
        let (status, body) = json(app.get(&path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        seen.push(body);
    }
    seen
}

async fn seed(app: &TestApp) -> (String, String) {
    let user = app.create_user("ann@example.com").await;
    let group = app.create_group("Sales", &[&user]).await;
    (user, group)
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &str,
    content_type: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .bearer_auth(&app.token);
    if !body.is_empty() {
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request = request.body(body.to_owned());
    }
    json(request.send().await.unwrap()).await
}

async fn run_cases(app: &TestApp, cases: &[Case]) {
    let (user, group) = seed(app).await;
    let before = snapshot(app, &user, &group).await;
    for (method, path, body, status, scim_type, detail) in cases {
        let path = path.replace("{user}", &user).replace("{group}", &group);
        let (got, error) = send(
            app,
            method,
            &path,
            &body_text(body),
            Some("application/scim+json"),
        )
        .await;
        let case = format!("{method} {path} {body}");
        assert_eq!(got, *status, "{case}: {error}");
        assert_scim_error(got, &error, *status, *scim_type);
        let text = error["detail"].as_str().unwrap();
        assert!(text.contains(detail), "{case}: {text}");
        assert_eq!(
            snapshot(app, &user, &group).await,
            before,
            "{case} changed something"
        );
    }
}

async fn control_characters_are_refused_and_nothing_is_written(app: TestApp) {
    run_cases(&app, CONTROL_CHARACTERS).await;
}

async fn tab_cr_and_lf_are_kept(app: TestApp) {
    let body = body_text(r#"{USER,"userName":"tab@example.com","title":"a\tb\r\nc"}"#);
    let (status, user) = send(&app, "POST", "/Users", &body, Some("application/scim+json")).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["title"], "a\tb\r\nc");
}

on_both_backends!(
    control_characters_are_refused_and_nothing_is_written,
    tab_cr_and_lf_are_kept,
);
