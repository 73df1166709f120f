//! A consistent copy of a live SQLite database (`scimd backup`).

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;

/// Writes the whole database into the new file `target` with `VACUUM INTO`.
/// It runs in one read transaction: the copy holds exactly the writes
/// committed before it began, and in WAL mode the server's writer goes on
/// meanwhile (readers never block it).
pub fn vacuum_into(conn: &mut SqliteConnection, target: &str) -> QueryResult<()> {
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(conn)
        .map(drop)
}

#[derive(QueryableByName)]
struct CheckLine {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

/// SQLite's `quick_check` of the database at `path`: `["ok"]` when sound.
pub fn quick_check(path: &Path) -> Result<Vec<String>, String> {
    let path = path
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
    let mut conn = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
    let lines: Vec<CheckLine> = diesel::sql_query("PRAGMA quick_check")
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(lines.into_iter().map(|l| l.quick_check).collect())
}
