//! The peers: scim2-server (Python, PyPI) and SCIMMY + scimmy-routers
//! (Node, npm) with the in-memory store in benches/peers/scimmy. Each is
//! installed under <target>/bench-peers/ with pinned versions the first time
//! it is needed (the only network access of a run), then started like scimd.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::{Server, Storage, free_port, run, target_dir};

/// The static token both peers are given.
const TOKEN: &str = "bench-peer-token";

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers")
}

fn install_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("bench-peers").join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Whether `stamp` records an install of exactly `pins`; an install that
/// succeeds writes it, so a changed pin list installs again.
fn installed(stamp: &Path, pins: &str) -> bool {
    std::fs::read_to_string(stamp).is_ok_and(|done| done == pins)
}

/// scim2-server in a virtualenv, from benches/peers/scim2-server/requirements.txt.
pub fn start_scim2_server(logs: &Path) -> anyhow::Result<Server> {
    let source = sources().join("scim2-server");
    let requirements = source.join("requirements.txt");
    let pins = std::fs::read_to_string(&requirements)?;
    let dir = install_dir("scim2-server")?;
    let venv = dir.join("venv");
    let stamp = dir.join("installed.txt");
    if !installed(&stamp, &pins) || !venv.join("bin/scim2-server").is_file() {
        eprintln!("installing scim2-server into {}", venv.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("creating a Python virtualenv (python3-venv)")?;
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&requirements))?;
        std::fs::write(&stamp, &pins)?;
    }
    let port = free_port()?;
    let log = logs.join("scim2-server.log");
    let child = Server::spawn(
        Command::new(venv.join("bin/scim2-server"))
            .args(["--hostname", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--bearer-token", TOKEN])
            // The defaults, plus cursor paging (RFC 9865), which it supports
            // but does not announce by default.
            .arg("--service-provider-config")
            .arg(source.join("service-provider-config.json")),
        &log,
    )?;
    Ok(Server {
        name: "scim2-server".into(),
        is_scimd: false,
        base: format!("http://127.0.0.1:{port}/v2"),
        token: TOKEN.into(),
        health: None,
        storage: Storage::Memory,
        log,
        child,
        _scratch: None,
    })
}

/// SCIMMY + scimmy-routers on express 4 with our store, `npm ci` from the lock file.
pub fn start_scimmy(logs: &Path) -> anyhow::Result<Server> {
    let source = sources().join("scimmy");
    let dir = install_dir("scimmy")?;
    for file in ["package.json", "package-lock.json", "server.js"] {
        std::fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    let pins = std::fs::read_to_string(source.join("package-lock.json"))?;
    let stamp = dir.join("installed.txt");
    if !installed(&stamp, &pins) || !dir.join("node_modules").is_dir() {
        eprintln!("installing SCIMMY into {}", dir.display());
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir))
        .context("npm ci (needs Node.js and npm)")?;
        std::fs::write(&stamp, &pins)?;
    }
    let port = free_port()?;
    let log = logs.join("scimmy.log");
    let child = Server::spawn(
        Command::new("node")
            .arg("server.js")
            .arg(port.to_string())
            .arg(TOKEN)
            .current_dir(&dir),
        &log,
    )?;
    Ok(Server {
        name: "SCIMMY".into(),
        is_scimd: false,
        base: format!("http://127.0.0.1:{port}/scim/v2"),
        token: TOKEN.into(),
        health: Some(format!("http://127.0.0.1:{port}/healthz")),
        storage: Storage::Memory,
        log,
        child,
        _scratch: None,
    })
}
