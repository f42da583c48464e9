//! Certificates and TLS for the tests of HTTPS remotes: a certificate
//! authority made on the spot, a server certificate it signs, and a rustls
//! acceptor serving it.

#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate authority, as the PEM a trust store holds and the issuer
/// that signs the server's certificate.
pub fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for `localhost` and 127.0.0.1 signed by `ca`, with its key.
/// With `expired`, its validity ended in 2020.
pub fn server_certificate(
    ca: &CertifiedIssuer<'static, KeyPair>,
    expired: bool,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    params
        .subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    signed(ca, &params)
}

/// A certificate for the host name `name` only (no address) signed by
/// `ca`, with its key: served on 127.0.0.1, it is for another host.
pub fn certificate_for_name(
    ca: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    signed(ca, &CertificateParams::new(vec![name.to_string()]).unwrap())
}

fn signed(
    ca: &CertifiedIssuer<'static, KeyPair>,
    params: &CertificateParams,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key)
}

/// A rustls acceptor serving `cert`, offering the ALPN protocols `alpn`.
pub fn acceptor(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Writes `pem` to `name` in `dir` (a trust store for `SSL_CERT_FILE`).
pub fn write_pem(dir: &tempfile::TempDir, name: &str, pem: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// Makes `cmd` (the bridge) trust only the authorities in the PEM file
/// `trust` (rustls-native-certs reads `SSL_CERT_FILE` on Linux) and reach
/// servers directly, whatever proxy the environment names.
pub fn trust_only(cmd: &mut tokio::process::Command, trust: &Path) {
    cmd.env("SSL_CERT_FILE", trust).env_remove("SSL_CERT_DIR");
    for proxy in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env_remove(proxy);
    }
}
