//! `scimd serve --tls-cert/--tls-key`: the real binary serving HTTPS with a
//! generated certificate, swapping it on SIGHUP without dropping the
//! connections already open, and keeping it when the new files are bad.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Backend;
use common::process::{Database, Server, server_dirs};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A self-signed certificate for this host, as the PEM files scimd reads
/// and the DER a client trusts.
struct Certificate {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn generate(name: &str) -> Certificate {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Certificate {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

fn install(certificate: &Certificate, dir: &Path) {
    std::fs::write(dir.join("cert.pem"), &certificate.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &certificate.key_pem).unwrap();
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TLS connection to `localhost` that trusts only `trusted`.
fn connect(port: u16, trusted: &Certificate) -> std::io::Result<Tls> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.der.clone()).unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut tls = StreamOwned::new(connection, tcp);
    // The handshake happens here: a certificate the client does not trust
    // fails it.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// `GET /healthz` on a kept-alive connection: (status, body).
fn healthz(tls: &mut Tls) -> std::io::Result<(u16, String)> {
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    tls.flush()?;
    let mut reader = BufReader::new(tls);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8(body).unwrap()))
}

/// The certificate the server presented on this connection.
fn presented(tls: &Tls) -> CertificateDer<'static> {
    tls.conn.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

/// Polls new connections trusting `certificate` until one answers.
fn served_with(server: &mut Server, certificate: &Certificate, within: Duration) -> Tls {
    let deadline = Instant::now() + within;
    loop {
        assert!(server.running(), "scimd exited");
        if let Ok(mut tls) = connect(server.port, certificate)
            && let Ok((200, _)) = healthz(&mut tls)
        {
            return tls;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served with the expected certificate within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn certificate_swapped_on_sighup(backend: Backend) {
    let Some(database) = Database::new(backend) else {
        return;
    };
    let (_root, dirs) = server_dirs(1);
    let dir = &dirs[0];
    let first = generate("scimd test A");
    let second = generate("scimd test B");
    install(&first, dir);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--keep-alive-secs",
        "60",
    ];
    let mut server = Server::spawn(dir, &database.url, &args, &[]);
    let mut open = served_with(&mut server, &first, Duration::from_secs(30));
    assert_eq!(presented(&open), first.der);
    // Plain HTTP on the TLS port gets no answer a client could take for one.
    let mut plain = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "plain HTTP served");

    // Renewed files, then SIGHUP: new handshakes present the new
    // certificate, and the connection opened before goes on working.
    install(&second, dir);
    server.signal("HUP");
    let renewed = served_with(&mut server, &second, Duration::from_secs(10));
    assert_eq!(presented(&renewed), second.der);
    assert_eq!(
        healthz(&mut open).unwrap().0,
        200,
        "open connection dropped"
    );
    assert_eq!(presented(&open), first.der);
    assert!(
        connect(server.port, &first).is_err(),
        "the old certificate is still served to new connections"
    );

    // A file that cannot be used on the next SIGHUP: the server keeps
    // serving the certificate it has.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    let kept = served_with(&mut server, &second, Duration::from_secs(5));
    assert_eq!(presented(&kept), second.der);

    let output = server.stop();
    assert!(
        output.stderr.contains("SIGHUP: TLS certificate reloaded"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("TLS certificate not reloaded")
            && output.stderr.contains("cert.pem"),
        "{}",
        output.stderr
    );
}

#[test]
fn sqlite_certificate_swapped_on_sighup() {
    certificate_swapped_on_sighup(Backend::Sqlite);
}

#[test]
fn postgres_certificate_swapped_on_sighup() {
    certificate_swapped_on_sighup(Backend::Postgres);
}
