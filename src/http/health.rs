use actix_web::{HttpResponse, web};

use crate::http::state::AppState;
use crate::scim::ScimError;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers within a second (take the instance out of a load
/// balancer when it does not).
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ScimError> {
    state.db.ping().await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
}
