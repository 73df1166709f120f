//! Hostile input, one table row per request: each is refused with the
//! expected SCIM error, and afterwards the team reads back exactly as before.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ENTERPRISE, TestApp, assert_scim_error, json};
use reqwest::Method;
use serde_json::Value;

/// (method, path, body, status, scimType, text the error's detail contains).
/// In paths and bodies `{user}` and `{group}` stand for the seeded
/// resources' ids.
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

/// Bodies are templates: `$USER`, `$GROUP`, `$PATCH`, `$BULK` and `$SEARCH`
/// stand for the matching `"schemas"` member, and `<text*N>` for `text`
/// N times.
fn body_text(template: &str) -> String {
    let mut text = template
        .replace("$USER", USER)
        .replace("$GROUP", GROUP)
        .replace("$PATCH", PATCH)
        .replace("$BULK", BULK)
        .replace("$SEARCH", SEARCH);
    while let Some(start) = text.find('<') {
        let end = start + text[start..].find('>').unwrap();
        let (c, n) = text[start + 1..end].rsplit_once('*').unwrap();
        let repeated = c.repeat(n.parse().unwrap());
        text.replace_range(start..=end, &repeated);
    }
    text
}

const CONTROL_CHARACTERS: &[Case] = &[
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"nul\u0000@example.com"}"#,
        400,
        Some("invalidValue"),
        "userName: control character U+0000",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","name":{"givenName":"a\u0001"}}"#,
        400,
        Some("invalidValue"),
        "name.givenName",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","emails":[{"value":"x@example.com\u001f"}]}"#,
        400,
        Some("invalidValue"),
        "emails[0].value",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","custom\u0000":"v"}"#,
        400,
        Some("invalidValue"),
        "custom\\0",
    ),
    (
        "PUT",
        "/Users/{user}",
        r#"{$USER,"userName":"ann@example.com","displayName":"Ann\u0000"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"\u0000"}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"displayName":"a\u0008b"}}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value.displayName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"title\u0000","value":"x"}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].path",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"emails[value eq \"\\u0000\"].type","value":"x"}]}"#,
        400,
        Some("invalidPath"),
        "control character",
    ),
    (
        "POST",
        "/Groups",
        r#"{$GROUP,"displayName":"Sales\u0000"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"add","path":"members","value":[{"value":"\u0000"}]}]}"#,
        400,
        Some("invalidValue"),
        "Operations[0].value[0].value",
    ),
    (
        "POST",
        "/Bulk",
        r#"{$BULK,"Operations":[{"method":"POST","path":"/Users","bulkId":"b","data":{$USER,"userName":"b\u0000"}}]}"#,
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
        r#"{$SEARCH,"filter":"userName eq \"\\u0000\""}"#,
        400,
        Some("invalidFilter"),
        "control character U+0000",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{$SEARCH,"sortBy":"userName\u0000"}"#,
        400,
        Some("invalidValue"),
        "sortBy",
    ),
    // A raw control character inside a JSON string is not JSON at all.
    (
        "POST",
        "/Users",
        "{$USER,\"userName\":\"raw\u{0}@example.com\"}",
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    // Lone surrogates cannot be decoded into text: serde_json refuses them.
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"\ud800@example.com"}"#,
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"\udc00"}]}"#,
        400,
        Some("invalidSyntax"),
        "not valid JSON",
    ),
    ("GET", "/Users/%00", "", 404, None, ""),
    ("GET", "/Groups/%00", "", 404, None, ""),
    (
        "PATCH",
        "/Users/%00",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"x"}]}"#,
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

const TOO_LONG: &[Case] = &[
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "userName: 257 characters, more than the 256 allowed",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"<é*257>"}"#,
        400,
        Some("invalidValue"),
        "userName: 257 characters",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"<a*300000>"}"#,
        400,
        Some("invalidValue"),
        "userName: 300000 characters",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","externalId":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "externalId",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","name":{"givenName":"<a*257>"}}"#,
        400,
        Some("invalidValue"),
        "name.givenName",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","emails":[{"value":"<a*257>"}]}"#,
        400,
        Some("invalidValue"),
        "emails[0].value",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","phoneNumbers":[{"value":"1"},{"value":"<1*65>"}]}"#,
        400,
        Some("invalidValue"),
        "phoneNumbers[1].value: 65 characters, more than the 64 allowed",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"x@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"<a*257>"}}"#,
        400,
        Some("invalidValue"),
        "enterprise:2.0:User:department",
    ),
    (
        "PUT",
        "/Users/{user}",
        r#"{$USER,"userName":"ann@example.com","displayName":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"userName","value":"<a*300000>"}]}"#,
        400,
        Some("invalidValue"),
        "userName",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"add","path":"emails","value":[{"value":"<a*257>"}]}]}"#,
        400,
        Some("invalidValue"),
        "emails[1].value",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"title":"<a*257>"}}]}"#,
        400,
        Some("invalidValue"),
        "title",
    ),
    (
        "POST",
        "/Groups",
        r#"{$GROUP,"displayName":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "POST",
        "/Groups",
        r#"{$GROUP,"displayName":"<a*300000>"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "POST",
        "/Groups",
        r#"{$GROUP,"displayName":"x","externalId":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "externalId",
    ),
    (
        "PUT",
        "/Groups/{group}",
        r#"{$GROUP,"displayName":"<a*257>"}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"displayName","value":"<a*257>"}]}"#,
        400,
        Some("invalidValue"),
        "displayName",
    ),
];

const REPEATED_KEYS: &[Case] = &[
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"a@example.com","userName":"b@example.com"}"#,
        400,
        Some("invalidSyntax"),
        "\"userName\" appears twice",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"a@example.com","USERNAME":"b@example.com"}"#,
        400,
        Some("invalidSyntax"),
        "\"USERNAME\" appears twice",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,$USER,"userName":"a@example.com"}"#,
        400,
        Some("invalidSyntax"),
        "\"schemas\" appears twice",
    ),
    (
        "POST",
        "/Users",
        r#"{$USER,"userName":"a@example.com","name":{"givenName":"A","givenName":"B"}}"#,
        400,
        Some("invalidSyntax"),
        "\"givenName\"",
    ),
    (
        "PUT",
        "/Users/{user}",
        r#"{$USER,"userName":"ann@example.com","active":true,"active":false}"#,
        400,
        Some("invalidSyntax"),
        "\"active\"",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","op":"remove","path":"title","value":"x"}]}"#,
        400,
        Some("invalidSyntax"),
        "\"op\"",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"title":"a","Title":"b"}}]}"#,
        400,
        Some("invalidSyntax"),
        "\"Title\"",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"add","path":"members","value":[{"value":"x","value":"y"}]}]}"#,
        400,
        Some("invalidSyntax"),
        "\"value\"",
    ),
    (
        "POST",
        "/Groups",
        r#"{$GROUP,"displayName":"A","displayName":"B"}"#,
        400,
        Some("invalidSyntax"),
        "\"displayName\"",
    ),
    (
        "POST",
        "/Bulk",
        r#"{$BULK,"Operations":[{"method":"POST","path":"/Users","bulkId":"b","data":{$USER,"userName":"b@example.com","userName":"c@example.com"}}]}"#,
        400,
        Some("invalidSyntax"),
        "\"userName\"",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{$SEARCH,"filter":"userName pr","filter":"title pr"}"#,
        400,
        Some("invalidSyntax"),
        "\"filter\"",
    ),
];

const NOT_JSON: &str = "is not supported: send application/scim+json or application/json";

/// (Content-Type, case): bodies that would be accepted as JSON.
const MEDIA_TYPES: &[(&str, Case)] = &[
    (
        "text/plain",
        (
            "POST",
            "/Users",
            r#"{$USER,"userName":"t@example.com"}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "text/json",
        (
            "POST",
            "/Users",
            r#"{$USER,"userName":"t@example.com"}"#,
            415,
            None,
            "\"text/json\"",
        ),
    ),
    (
        "application/xml",
        (
            "PUT",
            "/Users/{user}",
            r#"{$USER,"userName":"ann@example.com","title":"x"}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "application/x-www-form-urlencoded",
        (
            "PATCH",
            "/Users/{user}",
            r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"x"}]}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "multipart/form-data; boundary=x",
        (
            "POST",
            "/Groups",
            r#"{$GROUP,"displayName":"T"}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "text/plain",
        (
            "PATCH",
            "/Groups/{group}",
            r#"{$PATCH,"Operations":[{"op":"replace","path":"displayName","value":"x"}]}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "text/plain",
        (
            "POST",
            "/Bulk",
            r#"{$BULK,"Operations":[{"method":"POST","path":"/Users","bulkId":"b","data":{$USER,"userName":"b@example.com"}}]}"#,
            415,
            None,
            NOT_JSON,
        ),
    ),
    (
        "application/json; charset=iso-8859-1",
        (
            "POST",
            "/Users",
            r#"{$USER,"userName":"t@example.com"}"#,
            415,
            None,
            "charset \"iso-8859-1\"",
        ),
    ),
    (
        "application/scim+json; charset=utf-16",
        (
            "POST",
            "/Users",
            r#"{$USER,"userName":"t@example.com"}"#,
            415,
            None,
            "charset",
        ),
    ),
    (
        "json",
        (
            "POST",
            "/Users",
            r#"{$USER,"userName":"t@example.com"}"#,
            415,
            None,
            "cannot be parsed",
        ),
    ),
];

const ABSURD: &[Case] = &[
    // Read-only attributes: a PATCH naming one is refused (POST and PUT ignore them).
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"id","value":"x"}]}"#,
        400,
        Some("mutability"),
        "id is read-only",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}]}"#,
        400,
        Some("mutability"),
        "read-only",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"remove","path":"meta"}]}"#,
        400,
        Some("mutability"),
        "meta",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"add","path":"groups","value":[{"value":"{group}"}]}]}"#,
        400,
        Some("mutability"),
        "groups",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"groups":[]}}]}"#,
        400,
        Some("mutability"),
        "groups",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"meta":{"version":"W/\"1\""}}}]}"#,
        400,
        Some("mutability"),
        "meta",
    ),
    (
        "PATCH",
        "/Users/{user}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"id":"someone-else","title":"x"}}]}"#,
        400,
        Some("mutability"),
        "id is read-only",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"id","value":"x"}]}"#,
        400,
        Some("mutability"),
        "id is read-only",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"replace","value":{"id":"someone-else","displayName":"x"}}]}"#,
        400,
        Some("mutability"),
        "id is read-only",
    ),
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]}"#,
        400,
        Some("mutability"),
        "read-only",
    ),
    // Paging and selection parameters.
    (
        "GET",
        "/Users?startIndex=9223372036854775807",
        "",
        200,
        None,
        "",
    ),
    (
        "GET",
        "/Users?startIndex=-9223372036854775808&count=-9223372036854775808",
        "",
        200,
        None,
        "",
    ),
    (
        "GET",
        "/Users?startIndex=99999999999999999999",
        "",
        400,
        Some("invalidValue"),
        "startIndex must be an integer",
    ),
    (
        "GET",
        "/Users?count=1e3",
        "",
        400,
        Some("invalidValue"),
        "count must be an integer",
    ),
    ("GET", "/Users?count=99999999999", "", 200, None, ""),
    (
        "GET",
        "/Groups?startIndex=9223372036854775807&count=1000",
        "",
        200,
        None,
        "",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{$SEARCH,"startIndex":9223372036854775807,"count":1000}"#,
        200,
        None,
        "",
    ),
    (
        "POST",
        "/Users/.search",
        r#"{$SEARCH,"startIndex":1e300}"#,
        400,
        Some("invalidValue"),
        "startIndex",
    ),
    (
        "GET",
        "/Users?attributes=<userName,*5000>userName",
        "",
        200,
        None,
        "",
    ),
    (
        "GET",
        "/Users?attributes=<nope,*5000>nope",
        "",
        200,
        None,
        "",
    ),
    (
        "GET",
        "/Users?excludedAttributes=<emails.value,*5000>id",
        "",
        200,
        None,
        "",
    ),
    // Bulk over its limits.
    (
        "POST",
        "/Bulk",
        r#"{$BULK,"Operations":[<{"method":"DELETE","path":"/Users/{user}"},*1000>{"method":"DELETE","path":"/Users/{user}"}]}"#,
        413,
        None,
        "maxOperations",
    ),
    // Many members in one PATCH, none of them users of this team.
    (
        "PATCH",
        "/Groups/{group}",
        r#"{$PATCH,"Operations":[{"op":"add","path":"members","value":[<{"value":"nobody"},*99999>{"value":"nobody"}]}]}"#,
        400,
        Some("invalidValue"),
        "nobody",
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
    let typed: Vec<_> = cases
        .iter()
        .map(|case| ("application/scim+json", *case))
        .collect();
    run_typed_cases(app, &typed).await;
}

/// Cases sent with the given Content-Type.
async fn run_typed_cases(app: &TestApp, cases: &[(&str, Case)]) {
    let (user, group) = seed(app).await;
    let before = snapshot(app, &user, &group).await;
    for (content_type, (method, path, body, status, scim_type, detail)) in cases {
        let fill = |text: &str| {
            body_text(text)
                .replace("{user}", &user)
                .replace("{group}", &group)
        };
        let path = fill(path);
        let (got, error) = send(app, method, &path, &fill(body), Some(content_type)).await;
        let case = format!(
            "{method} {} ({content_type}) {}",
            path.chars().take(200).collect::<String>(),
            body.chars().take(200).collect::<String>()
        );
        assert_eq!(got, *status, "{case}: {error}");
        // A success row is a request that must change nothing (a read).
        if *status >= 400 {
            assert_eq!(error["scimType"].as_str(), *scim_type, "{case}: {error}");
            assert_scim_error(got, &error, *status, *scim_type);
            let text = error["detail"].as_str().unwrap();
            assert!(text.contains(detail), "{case}: {text}");
        }
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
    let body = body_text(r#"{$USER,"userName":"tab@example.com","title":"a\tb\r\nc"}"#);
    let (status, user) = send(&app, "POST", "/Users", &body, Some("application/scim+json")).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["title"], "a\tb\r\nc");
}

async fn values_over_their_limit_are_refused_and_nothing_is_written(app: TestApp) {
    run_cases(&app, TOO_LONG).await;
}

async fn values_at_their_limit_are_kept(app: TestApp) {
    let body = body_text(&format!(
        r#"{{$USER,"userName":"<é*256>","externalId":"<b*256>","displayName":"<c*256>",
            "name":{{"givenName":"<d*256>","familyName":"<e*256>"}},"title":"<f*256>",
            "emails":[{{"value":"<g*256>"}}],"phoneNumbers":[{{"value":"<1*64>"}}],
            "{ENTERPRISE}":{{"department":"<h*256>"}}}}"#
    ));
    let sent: Value = serde_json::from_str(&body).unwrap();
    let (status, created) =
        send(&app, "POST", "/Users", &body, Some("application/scim+json")).await;
    assert_eq!(status, 201, "{created}");
    let (_, user) = json(
        app.get(&format!("/Users/{}", created["id"].as_str().unwrap()))
            .await,
    )
    .await;
    for key in [
        "userName",
        "externalId",
        "displayName",
        "name",
        "title",
        "emails",
        "phoneNumbers",
        ENTERPRISE,
    ] {
        assert_eq!(user[key], sent[key], "{key}");
    }
    let body = body_text(r#"{$GROUP,"displayName":"<ü*256>","externalId":"<x*256>"}"#);
    let (status, group) = send(
        &app,
        "POST",
        "/Groups",
        &body,
        Some("application/scim+json"),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["displayName"].as_str().unwrap().chars().count(), 256);
}

async fn repeated_keys_are_refused_and_nothing_is_written(app: TestApp) {
    run_cases(&app, REPEATED_KEYS).await;
}

async fn other_media_types_are_refused_and_nothing_is_written(app: TestApp) {
    run_typed_cases(&app, MEDIA_TYPES).await;
}

async fn json_media_types_and_none_are_accepted(app: TestApp) {
    for (i, content_type) in [
        Some("application/scim+json"),
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/SCIM+JSON; charset=\"UTF-8\""),
        Some("application/scim+json;charset=UTF-8; profile=x"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let body = body_text(&format!(r#"{{$USER,"userName":"user{i}@example.com"}}"#));
        let (status, user) = send(&app, "POST", "/Users", &body, content_type).await;
        assert_eq!(status, 201, "{content_type:?}: {user}");
        let patch =
            body_text(r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"T"}]}"#);
        let path = format!("/Users/{}", user["id"].as_str().unwrap());
        let (status, patched) = send(&app, "PATCH", &path, &patch, content_type).await;
        assert_eq!(status, 200, "{content_type:?}: {patched}");
        assert_eq!(patched["title"], "T");
    }
}

async fn absurd_requests_are_refused_and_nothing_is_written(app: TestApp) {
    run_cases(&app, ABSURD).await;
}

async fn garbage_if_match_is_a_failed_precondition(app: TestApp) {
    let (user, group) = seed(&app).await;
    let before = snapshot(&app, &user, &group).await;
    let patch = body_text(r#"{$PATCH,"Operations":[{"op":"replace","path":"title","value":"x"}]}"#);
    let group_patch =
        body_text(r#"{$PATCH,"Operations":[{"op":"replace","path":"displayName","value":"x"}]}"#);
    let put = body_text(r#"{$USER,"userName":"ann@example.com","title":"x"}"#);
    let long = format!("W/\"{}\"", "9".repeat(8000));
    for value in [
        &b"garbage"[..],
        b"W/\"999999999999999999999999\"",
        b"\"1\"",
        b"W/\"-1\", W/\"0\"",
        b"\xff\xfe",
        long.as_bytes(),
    ] {
        for (method, path, body) in [
            ("PATCH", format!("/Users/{user}"), &patch),
            ("PUT", format!("/Users/{user}"), &put),
            ("DELETE", format!("/Users/{user}"), &String::new()),
            ("PATCH", format!("/Groups/{group}"), &group_patch),
            ("DELETE", format!("/Groups/{group}"), &String::new()),
        ] {
            let mut request = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    app.url(&path),
                )
                .bearer_auth(&app.token)
                .header(
                    "if-match",
                    reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                );
            if !body.is_empty() {
                request = request
                    .header("content-type", "application/scim+json")
                    .body(body.clone());
            }
            let (status, error) = json(request.send().await.unwrap()).await;
            let case = format!(
                "{method} {path} If-Match {}",
                String::from_utf8_lossy(&value[..value.len().min(40)])
            );
            assert_eq!(status, 412, "{case}: {error}");
            assert_scim_error(status, &error, 412, None);
            assert_eq!(
                snapshot(&app, &user, &group).await,
                before,
                "{case} changed something"
            );
        }
    }
}

async fn circular_bulk_ids_create_nothing(app: TestApp) {
    let (user, group) = seed(&app).await;
    let before = snapshot(&app, &user, &group).await;
    let body = body_text(
        r#"{$BULK,"Operations":[
            {"method":"POST","path":"/Groups","bulkId":"g1","data":{$GROUP,"displayName":"One","members":[{"value":"bulkId:g2"}]}},
            {"method":"POST","path":"/Groups","bulkId":"g2","data":{$GROUP,"displayName":"Two","members":[{"value":"bulkId:g1"}]}},
            {"method":"POST","path":"/Groups","bulkId":"g3","data":{$GROUP,"displayName":"Self","members":[{"value":"bulkId:g3"}]}},
            {"method":"PATCH","path":"/Groups/bulkId:g4","data":{$PATCH,"Operations":[{"op":"replace","path":"displayName","value":"x"}]}},
            {"method":"POST","path":"/Groups","bulkId":"g4","data":{$GROUP,"displayName":"Late"}},
            {"method":"DELETE","path":"/Groups/bulkId:g4"}
        ]}"#,
    );
    let (status, response) =
        send(&app, "POST", "/Bulk", &body, Some("application/scim+json")).await;
    assert_eq!(status, 200, "{response}");
    let statuses: Vec<&str> = response["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["status"].as_str().unwrap())
        .collect();
    // Only "Late" is created, and then deleted by the operation after it.
    assert_eq!(
        statuses,
        ["400", "400", "400", "400", "201", "204"],
        "{response}"
    );
    assert_eq!(snapshot(&app, &user, &group).await, before);
}

async fn a_key_that_almost_starts_a_urn_is_kept(app: TestApp) {
    // "urn" and a combining mark: byte 4 falls inside a character.
    let body = body_text("{$USER,\"userName\":\"k@example.com\",\"urn\u{316}etf\":\"v\"}");
    let (status, user) = send(&app, "POST", "/Users", &body, Some("application/scim+json")).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["urn\u{316}etf"], "v");
}

async fn bulk_operations_over_a_limit_fail_alone(app: TestApp) {
    let (user, group) = seed(&app).await;
    let before = snapshot(&app, &user, &group).await;
    let body = body_text(
        r#"{$BULK,"Operations":[
            {"method":"POST","path":"/Users","bulkId":"u","data":{$USER,"userName":"<a*257>"}},
            {"method":"POST","path":"/Groups","bulkId":"g","data":{$GROUP,"displayName":"<a*300000>"}},
            {"method":"PATCH","path":"/Users/{user}","data":{$PATCH,"Operations":[{"op":"add","path":"phoneNumbers","value":[{"value":"<1*65>"}]}]}}
        ]}"#,
    )
    .replace("{user}", &user);
    let (status, response) =
        send(&app, "POST", "/Bulk", &body, Some("application/scim+json")).await;
    assert_eq!(status, 200, "{response}");
    let operations = response["Operations"].as_array().unwrap();
    for (operation, attribute) in
        operations
            .iter()
            .zip(["userName", "displayName", "phoneNumbers[0].value"])
    {
        assert_eq!(operation["status"], "400", "{operation}");
        assert_eq!(
            operation["response"]["scimType"], "invalidValue",
            "{operation}"
        );
        let detail = operation["response"]["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("{attribute}: ")), "{detail}");
    }
    assert_eq!(operations.len(), 3);
    assert_eq!(snapshot(&app, &user, &group).await, before);
}

on_both_backends!(
    bulk_operations_over_a_limit_fail_alone,
    a_key_that_almost_starts_a_urn_is_kept,
    circular_bulk_ids_create_nothing,
    garbage_if_match_is_a_failed_precondition,
    absurd_requests_are_refused_and_nothing_is_written,
    other_media_types_are_refused_and_nothing_is_written,
    json_media_types_and_none_are_accepted,
    repeated_keys_are_refused_and_nothing_is_written,
    control_characters_are_refused_and_nothing_is_written,
    tab_cr_and_lf_are_kept,
    values_over_their_limit_are_refused_and_nothing_is_written,
    values_at_their_limit_are_kept,
);
