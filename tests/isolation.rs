//! Tenant isolation, generated from the route table: for every SCIM route
//! and method, under both prefixes, tenant B's token naming tenant A's ids
//! (in the path, in PATCH member values, in Bulk operations, in filters on
//! `id`, `members.value` and `groups.value`, in `.search`) gets 404 or 400,
//! or a success about B's own resources only: never A's data, and totals
//! that never count A's resources. A's resources are unchanged afterwards.
//!
//! The route table below must match `src/http/mod.rs` (checked by reading
//! it) and the live server (every other method answers 405), and every
//! route needs its cases in `cases`: a new route fails this test until it
//! has them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{GROUP_SCHEMA, TestApp, assert_scim_error, json, patch_body, user_body};
use reqwest::Method;
use serde_json::{Value, json};

/// Every SCIM route: method and path under a prefix.
const ROUTES: [(&str, &str); 21] = [
    ("GET", "/ServiceProviderConfig"),
    ("GET", "/ResourceTypes"),
    ("GET", "/ResourceTypes/{name}"),
    ("POST", "/Bulk"),
    ("POST", "/.search"),
    ("POST", "/Users/.search"),
    ("POST", "/Groups/.search"),
    ("GET", "/Schemas"),
    ("GET", "/Schemas/{id}"),
    ("GET", "/Users"),
    ("POST", "/Users"),
    ("GET", "/Users/{id}"),
    ("PUT", "/Users/{id}"),
    ("PATCH", "/Users/{id}"),
    ("DELETE", "/Users/{id}"),
    ("GET", "/Groups"),
    ("POST", "/Groups"),
    ("GET", "/Groups/{id}"),
    ("PUT", "/Groups/{id}"),
    ("PATCH", "/Groups/{id}"),
    ("DELETE", "/Groups/{id}"),
];

/// The (method, path) pairs `scim_routes` in src/http/mod.rs registers,
/// read from its source.
fn routes_in_source() -> Vec<(String, String)> {
    let source = include_str!("../src/http/mod.rs");
    let body = source
        .split_once("fn scim_routes")
        .expect("src/http/mod.rs has scim_routes")
        .1;
    let mut routes = Vec::new();
    for chunk in body.split("resource(\"").skip(1) {
        let path = chunk.split_once('"').unwrap().0;
        for route in chunk.split(".route(web::").skip(1) {
            let method = route.split_once('(').unwrap().0.to_ascii_uppercase();
            routes.push((method, path.to_owned()));
        }
    }
    routes
}

#[test]
fn the_route_table_is_the_servers() {
    let mut ours: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let mut theirs = routes_in_source();
    ours.sort();
    theirs.sort();
    assert_eq!(
        ours, theirs,
        "src/http/mod.rs changed its routes: update ROUTES and `cases` in tests/isolation.rs"
    );
}

/// Tenant A's resources and marks only A's data carries.
struct TenantA {
    users: [String; 2],
    user_names: [String; 2],
    group: String,
    marks: Vec<String>,
}

/// Tenant B: its token and its own resources.
struct TenantB {
    token: String,
    user: String,
    group: String,
    users: u64,
    groups: u64,
}

/// What an answer must be.
enum Expect {
    /// A SCIM 404.
    NotFound,
    /// A SCIM 400 with this `scimType`.
    Invalid(&'static str),
    /// A SCIM 400, or a 200 that changes nothing (a PATCH removing what is
    /// not there).
    InvalidOrUnchanged,
    /// 200 with a ListResponse of `total` B resources (none of A's).
    List(u64),
    /// A list that is B's or a 400 `invalidFilter` (an attribute the other
    /// resource type lacks, on the root search).
    ListOrInvalidFilter(u64),
    /// 200 (201 for `POST`) about B's own resources.
    Success(u16),
    /// A Bulk response whose operations failed with these statuses.
    BulkRefused(&'static [&'static str]),
}

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn case(method: Method, path: String, body: Option<Value>, expect: Expect) -> Case {
    Case {
        method,
        path,
        body,
        expect,
    }
}

fn search(filter: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter})
}

fn quoted(filter: &str) -> String {
    filter.replace(' ', "%20").replace('"', "%22")
}

fn group_body(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members})
}

fn add_member(id: &str) -> Value {
    patch_body(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]))
}

/// The cases for one route, naming A's ids wherever the route takes one.
fn cases(method: &str, route: &str, a: &TenantA, b: &TenantB) -> Vec<Case> {
    let [a1, a2] = &a.users;
    let ag = &a.group;
    let (bu, bg) = (&b.user, &b.group);
    let a1_name = &a.user_names[0];
    let id_filters_users = [
        format!("id eq \"{a1}\""),
        format!("groups.value eq \"{ag}\""),
        format!("id eq \"{a1}\" or id eq \"{a2}\""),
        format!("userName eq \"{a1_name}\""),
        format!("userName eq \"{}\"", a1_name.to_uppercase()),
        format!("emails.value eq \"{a1_name}\""),
    ];
    let id_filters_groups = [
        format!("id eq \"{ag}\""),
        format!("members.value eq \"{a1}\""),
        format!("members.value eq \"{a1}\" or id eq \"{ag}\""),
    ];
    match (method, route) {
        ("GET", "/ServiceProviderConfig" | "/ResourceTypes" | "/Schemas") => {
            vec![case(
                Method::GET,
                route.to_owned(),
                None,
                Expect::Success(200),
            )]
        }
        ("GET", "/ResourceTypes/{name}") => vec![
            case(
                Method::GET,
                format!("/ResourceTypes/{a1}"),
                None,
                Expect::NotFound,
            ),
            case(
                Method::GET,
                format!("/ResourceTypes/{ag}"),
                None,
                Expect::NotFound,
            ),
        ],
        ("GET", "/Schemas/{id}") => vec![
            case(
                Method::GET,
                format!("/Schemas/{a1}"),
                None,
                Expect::NotFound,
            ),
            case(
                Method::GET,
                format!("/Schemas/{ag}"),
                None,
                Expect::NotFound,
            ),
        ],
        ("POST", "/Bulk") => {
            let operations = json!([
                {"method": "PUT", "path": format!("/Users/{a1}"), "data": user_body("b.put@example.com")},
                {"method": "PATCH", "path": format!("/Users/{a1}"),
                 "data": patch_body(json!([{"op": "replace", "path": "title", "value": "B was here"}]))},
                {"method": "DELETE", "path": format!("/Users/{a2}")},
                {"method": "PUT", "path": format!("/Groups/{ag}"), "data": group_body("B's", &[bu])},
                {"method": "PATCH", "path": format!("/Groups/{ag}"), "data": add_member(bu)},
                {"method": "DELETE", "path": format!("/Groups/{ag}")},
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": group_body("B with A", &[a1])},
                {"method": "PATCH", "path": format!("/Groups/{bg}"), "data": add_member(a1)},
                {"method": "PUT", "path": format!("/Groups/{bg}"), "data": group_body("B group", &[bu, a2])},
            ]);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": operations,
            });
            let statuses = &[
                "404", "404", "404", "404", "404", "404", "400", "400", "400",
            ];
            vec![case(
                Method::POST,
                "/Bulk".into(),
                Some(body),
                Expect::BulkRefused(statuses),
            )]
        }
        ("POST", "/.search") => {
            let mut all: Vec<Case> = id_filters_users
                .iter()
                .chain(&id_filters_groups)
                .map(|f| {
                    case(
                        Method::POST,
                        "/.search".into(),
                        Some(search(f)),
                        Expect::ListOrInvalidFilter(0),
                    )
                })
                .collect();
            all.push(case(
                Method::POST,
                "/.search".into(),
                Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
                Expect::List(b.users + b.groups),
            ));
            all
        }
        ("POST", "/Users/.search") => id_filters_users
            .iter()
            .map(|f| case(Method::POST, route.into(), Some(search(f)), Expect::List(0)))
            .chain([case(
                Method::POST,
                route.into(),
                Some(search(&format!("id eq \"{a1}\" or id eq \"{bu}\""))),
                Expect::List(1),
            )])
            .collect(),
        ("POST", "/Groups/.search") => id_filters_groups
            .iter()
            .map(|f| case(Method::POST, route.into(), Some(search(f)), Expect::List(0)))
            .chain([case(
                Method::POST,
                route.into(),
                Some(search(&format!("id eq \"{ag}\" or id eq \"{bg}\""))),
                Expect::List(1),
            )])
            .collect(),
        ("GET", "/Users") => id_filters_users
            .iter()
            .map(|f| {
                case(
                    Method::GET,
                    format!("/Users?filter={}", quoted(f)),
                    None,
                    Expect::List(0),
                )
            })
            .chain([case(
                Method::GET,
                "/Users".into(),
                None,
                Expect::List(b.users),
            )])
            .collect(),
        ("GET", "/Groups") => id_filters_groups
            .iter()
            .map(|f| {
                case(
                    Method::GET,
                    format!("/Groups?filter={}", quoted(f)),
                    None,
                    Expect::List(0),
                )
            })
            .chain([case(
                Method::GET,
                "/Groups".into(),
                None,
                Expect::List(b.groups),
            )])
            .collect(),
        ("POST", "/Users") => {
            // A's id and group in read-only attributes: ignored, a user of B's own.
            let mut body = user_body(&format!("b.new.{}@example.com", uuid::Uuid::new_v4()));
            body["id"] = json!(a1);
            body["groups"] = json!([{"value": ag}]);
            vec![case(
                Method::POST,
                route.into(),
                Some(body),
                Expect::Success(201),
            )]
        }
        ("POST", "/Groups") => vec![
            case(
                Method::POST,
                route.into(),
                Some(group_body("B with A", &[a1])),
                Expect::Invalid("invalidValue"),
            ),
            case(
                Method::POST,
                route.into(),
                Some(group_body("B with B and A", &[bu, a2])),
                Expect::Invalid("invalidValue"),
            ),
        ],
        ("GET" | "DELETE", "/Users/{id}") => [a1, a2, ag]
            .iter()
            .map(|id| {
                case(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("/Users/{id}"),
                    None,
                    Expect::NotFound,
                )
            })
            .collect(),
        ("PUT", "/Users/{id}") => vec![case(
            Method::PUT,
            format!("/Users/{a1}"),
            Some(user_body("b.put@example.com")),
            Expect::NotFound,
        )],
        ("PATCH", "/Users/{id}") => vec![
            case(
                Method::PATCH,
                format!("/Users/{a1}"),
                Some(patch_body(
                    json!([{"op": "replace", "path": "title", "value": "B was here"}]),
                )),
                Expect::NotFound,
            ),
            case(
                Method::PATCH,
                format!("/Users/{a2}"),
                Some(patch_body(
                    json!([{"op": "replace", "value": {"active": false}}]),
                )),
                Expect::NotFound,
            ),
        ],
        ("GET" | "DELETE", "/Groups/{id}") => [ag, a1]
            .iter()
            .map(|id| {
                case(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("/Groups/{id}"),
                    None,
                    Expect::NotFound,
                )
            })
            .collect(),
        ("PUT", "/Groups/{id}") => vec![
            case(
                Method::PUT,
                format!("/Groups/{ag}"),
                Some(group_body("B's", &[bu])),
                Expect::NotFound,
            ),
            case(
                Method::PUT,
                format!("/Groups/{bg}"),
                Some(group_body("B group", &[bu, a1])),
                Expect::Invalid("invalidValue"),
            ),
        ],
        ("PATCH", "/Groups/{id}") => vec![
            case(
                Method::PATCH,
                format!("/Groups/{ag}"),
                Some(add_member(bu)),
                Expect::NotFound,
            ),
            case(
                Method::PATCH,
                format!("/Groups/{ag}"),
                Some(patch_body(json!([{"op": "remove", "path": "members"}]))),
                Expect::NotFound,
            ),
            case(
                Method::PATCH,
                format!("/Groups/{bg}"),
                Some(add_member(a1)),
                Expect::Invalid("invalidValue"),
            ),
            case(
                Method::PATCH,
                format!("/Groups/{bg}"),
                Some(patch_body(
                    json!([{"op": "replace", "path": "members", "value": [{"value": a2}]}]),
                )),
                Expect::Invalid("invalidValue"),
            ),
            case(
                Method::PATCH,
                format!("/Groups/{bg}"),
                Some(patch_body(
                    json!([{"op": "remove", "path": format!("members[value eq \"{a1}\"]")}]),
                )),
                Expect::InvalidOrUnchanged,
            ),
        ],
        _ => panic!("no isolation cases for {method} {route}: add them to `cases`"),
    }
}

/// Everything a tenant-A resource shows, as A sees it.
async fn snapshot(app: &TestApp, a: &TenantA) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        format!("/Users/{}", a.users[0]),
        format!("/Users/{}", a.users[1]),
        format!("/Groups/{}", a.group),
        "/Users".to_owned(),
        "/Groups".to_owned(),
    ] {
        let (status, body) = json(app.get(&path).await).await;
        assert_eq!(status, 200, "{body}");
        all.push(body);
    }
    all
}

/// Asserts one answer; counts a resource B created.
fn check(case: &Case, status: u16, body: &Value, a: &TenantA, b: &mut TenantB) {
    let what = format!("{} {}: {status} {body}", case.method, case.path);
    let text = body.to_string();
    // An error may echo what B sent; anything else of A's is a leak.
    let sent = format!(
        "{} {}",
        case.path,
        case.body.as_ref().unwrap_or(&Value::Null)
    );
    for mark in a.marks.iter().filter(|m| !sent.contains(m.as_str())) {
        assert!(!text.contains(mark.as_str()), "A's data in {what}");
    }
    let a_ids = [&a.users[0], &a.users[1], &a.group];
    let names_no_a_id = |body: &Value| {
        let text = body.to_string();
        a_ids.iter().all(|id| !text.contains(id.as_str()))
    };
    match &case.expect {
        Expect::NotFound => assert_scim_error(status, body, 404, None),
        Expect::Invalid(scim_type) => assert_scim_error(status, body, 400, Some(scim_type)),
        Expect::InvalidOrUnchanged => {
            if status == 400 {
                assert_eq!(
                    body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                    "{what}"
                );
            } else {
                assert_eq!(status, 200, "{what}");
                assert!(names_no_a_id(body), "{what}");
            }
        }
        Expect::List(total) | Expect::ListOrInvalidFilter(total) => {
            if status == 400 && matches!(case.expect, Expect::ListOrInvalidFilter(_)) {
                assert_scim_error(status, body, 400, Some("invalidFilter"));
                return;
            }
            assert_eq!(status, 200, "{what}");
            assert_eq!(body["totalResults"], *total, "{what}");
            assert!(names_no_a_id(body), "{what}");
        }
        Expect::Success(expected) => {
            assert_eq!(status, *expected, "{what}");
            assert!(names_no_a_id(body), "{what}");
            if *expected == 201 {
                b.users += 1;
            }
        }
        Expect::BulkRefused(statuses) => {
            assert_eq!(status, 200, "{what}");
            let operations = body["Operations"].as_array().unwrap();
            let answered: Vec<&str> = operations
                .iter()
                .map(|op| op["status"].as_str().unwrap())
                .collect();
            assert_eq!(answered, *statuses, "{what}");
            for operation in operations {
                assert!(operation.get("location").is_none(), "{operation} in {what}");
            }
        }
    }
}

async fn every_route_refuses_another_tenants_ids(app: TestApp) {
    // Tenant A (acme): two users, one of them in a group, with marks
    // (userNames, titles, the group's name) no one else uses.
    let mark = uuid::Uuid::new_v4().simple().to_string();
    let mut marks = Vec::new();
    let mut users = Vec::new();
    for n in 0..2 {
        let user_name = format!("a{n}.{mark}@example.com");
        let mut body = user_body(&user_name);
        body["title"] = json!(format!("A title {n} {mark}"));
        let (status, created) = json(app.post("/Users", &body).await).await;
        assert_eq!(status, 201, "{created}");
        users.push(created["id"].as_str().unwrap().to_owned());
        marks.push(user_name);
        marks.push(format!("A title {n} {mark}"));
    }
    let group_name = format!("A group {mark}");
    let group = app.create_group(&group_name, &[&users[0]]).await;
    marks.push(group_name);
    let a = TenantA {
        users: [users[0].clone(), users[1].clone()],
        user_names: [marks[0].clone(), marks[2].clone()],
        group,
        marks,
    };
    // Tenant B: one user in one group.
    let token = app.tenant_with_token("globex");
    let (status, b_user) = json(
        app.request_as(
            &token,
            Method::POST,
            "/Users",
            Some(&user_body("b@example.com")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let b_user = b_user["id"].as_str().unwrap().to_owned();
    let (status, b_group) = json(
        app.request_as(
            &token,
            Method::POST,
            "/Groups",
            Some(&group_body("B group", &[&b_user])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let mut b = TenantB {
        token,
        user: b_user,
        group: b_group["id"].as_str().unwrap().to_owned(),
        users: 1,
        groups: 1,
    };

    let before = snapshot(&app, &a).await;
    let mut requests = 0;
    for prefix in scimd::http::SCIM_PREFIXES {
        for (method, route) in ROUTES {
            for case in cases(method, route, &a, &b) {
                let url = format!("{}{prefix}{}", app.address, case.path);
                let mut request = app
                    .client
                    .request(case.method.clone(), url)
                    .bearer_auth(&b.token);
                if let Some(body) = &case.body {
                    request = request
                        .header("content-type", "application/scim+json")
                        .body(body.to_string());
                }
                let (status, body) = json(request.send().await.unwrap()).await;
                check(&case, status, &body, &a, &mut b);
                requests += 1;
            }
            // Every other method on this path is not allowed.
            let concrete = route.replace("{id}", &a.users[0]).replace("{name}", "User");
            for other in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                if ROUTES.iter().any(|(m, p)| *m == other && *p == route) {
                    continue;
                }
                let url = format!("{}{prefix}{concrete}", app.address);
                let answer = app
                    .client
                    .request(Method::from_bytes(other.as_bytes()).unwrap(), url)
                    .bearer_auth(&b.token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 405, "{other} {prefix}{route}");
            }
        }
    }
    assert!(requests > 100, "{requests}");
    assert_eq!(
        snapshot(&app, &a).await,
        before,
        "tenant A's resources changed"
    );
}

on_both_backends!(every_route_refuses_another_tenants_ids);
