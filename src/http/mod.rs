//! HTTP layer: routes, extractors, SCIM wire format, auth. Handlers are thin:
//! they parse, call the domain and store, and render.

pub mod auth;
pub(crate) mod bucket;
pub mod bulk;
pub mod discovery;
pub mod error;
pub mod groups;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod params;
pub mod rate_limit;
pub mod request_log;
pub mod search;
pub mod state;
pub mod throttle;
pub mod tls;
pub mod users;
pub mod wire;

use actix_web::web;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Both prefixes serve the same routes; Pingboard-style clients use `/v2`.
pub const SCIM_PREFIXES: [&str; 2] = ["/api/external/scim/v2", "/api/external/scim"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::scrape));
    for prefix in SCIM_PREFIXES {
        cfg.service(web::scope(prefix).configure(scim_routes));
    }
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(error::method_not_allowed))
}

fn scim_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/ServiceProviderConfig").route(web::get().to(discovery::service_provider_config)),
    )
    .service(resource("/ResourceTypes").route(web::get().to(discovery::resource_types)))
    .service(resource("/ResourceTypes/{name}").route(web::get().to(discovery::resource_type)))
    .service(resource("/Bulk").route(web::post().to(bulk::post)))
    .service(resource("/.search").route(web::post().to(search::search_all)))
    .service(resource("/Users/.search").route(web::post().to(search::search_users)))
    .service(resource("/Groups/.search").route(web::post().to(search::search_groups)))
    .service(resource("/Schemas").route(web::get().to(discovery::schemas)))
    .service(resource("/Schemas/{id}").route(web::get().to(discovery::schema)))
    .service(
        resource("/Users")
            .route(web::get().to(search::list_users))
            .route(web::post().to(users::create)),
    )
    .service(
        resource("/Users/{id}")
            .route(web::get().to(users::get))
            .route(web::put().to(users::replace))
            .route(web::patch().to(users::patch))
            .route(web::delete().to(users::delete)),
    )
    .service(
        resource("/Groups")
            .route(web::get().to(search::list_groups))
            .route(web::post().to(groups::create)),
    )
    .service(
        resource("/Groups/{id}")
            .route(web::get().to(groups::get))
            .route(web::put().to(groups::replace))
            .route(web::patch().to(groups::patch))
            .route(web::delete().to(groups::delete)),
    );
}
