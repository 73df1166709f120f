use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::http::state::AppState;
use crate::scim::ScimError;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ScimError> {
    state
        .db
        .read(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
}
