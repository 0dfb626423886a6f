//! Self-managed webhook certificates: a CA and a serving certificate signed by it, issued and
//! renewed as a pure function of what exists, the names to serve, and the time given.
//!
//! The CA's private key is never stored: each CA signs exactly one serving certificate, lives as
//! long as it, and its key is dropped as soon as that certificate is signed. Nothing that can read
//! the Secret can mint a certificate the apiserver would trust. Renewal is therefore a new CA and a
//! new serving certificate; it never breaks a connection because the bundle carries the new CA
//! first and every older CA until it expires, and the bundle is injected before the new serving
//! certificate is served.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

/// Errors while issuing or reading certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen failed.
    #[error("issuing a certificate: {0}")]
    Issue(#[from] rcgen::Error),
    /// A stored certificate could not be read.
    #[error("reading a stored certificate: {0}")]
    Parse(String),
    /// A time was out of range.
    #[error("time out of range: {0}")]
    Time(String),
}

/// The names the serving certificate must carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// DNS names, e.g. `turnstile-webhook-service.turnstile-system.svc`.
    pub dns: Vec<String>,
    /// IP addresses, e.g. 127.0.0.1 for a webhook registered by URL.
    pub ips: Vec<IpAddr>,
}

/// How long certificates live and when they are renewed, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Validity of a serving certificate (and of the one-use CA that signs it).
    pub serving: i64,
    /// Renew a certificate when less than this remains of it.
    pub renew_before: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Self {
            serving: 365 * DAY,
            renew_before: 30 * DAY,
        }
    }
}

/// The certificate material, as stored in the Secret (all PEM). No CA private key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Material {
    /// CA certificates trusted for the webhook, current CA first (the `caBundle`).
    pub ca_bundle: String,
    /// The serving certificate.
    pub cert: String,
    /// The serving certificate's private key.
    pub key: String,
}

/// What [`reconcile`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing: the material is valid, not due for renewal, and covers the names.
    None,
    /// Only expired CAs were dropped from the bundle.
    Pruned,
    /// A new one-use CA (older ones stay in the bundle while valid) and a serving certificate.
    Issued,
}

fn at(unix: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| CertError::Time(e.to_string()))
}

/// PEM blocks of a bundle.
fn pem_blocks(bundle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in bundle.lines() {
        cur.push_str(line);
        cur.push('\n');
        if line.starts_with("-----END ") {
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// Validity end (unix seconds) and SANs of a PEM certificate.
fn inspect(pem: &str) -> Result<(i64, Names), CertError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| CertError::Parse(e.to_string()))?;
    let cert = block
        .parse_x509()
        .map_err(|e| CertError::Parse(e.to_string()))?;
    let not_after = cert.validity().not_after.timestamp();
    let mut names = Names::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.dns.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        names.ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        names.ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    Ok((not_after, names))
}

/// Validity end (unix seconds) of the serving certificate in `material`.
pub fn serving_not_after(material: &Material) -> Result<i64, CertError> {
    inspect(&material.cert).map(|(t, _)| t)
}

/// A new CA and a serving certificate for `names` signed by it, both valid from `now` for
/// `life.serving`. Returns (CA certificate, serving certificate, serving key); the CA's key is
/// dropped here.
fn issue(names: &Names, now: i64, life: &Lifetimes) -> Result<(String, String, String), CertError> {
    let not_after = at(now + life.serving)?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("turnstile-webhook-ca-{now}"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = at(now - 60)?;
    ca_params.not_after = not_after;
    let ca = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca.pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.dns.clone())?;
    params
        .subject_alt_names
        .extend(names.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    params.distinguished_name.push(
        DnType::CommonName,
        names
            .dns
            .first()
            .cloned()
            .unwrap_or_else(|| "turnstile-webhook".into()),
    );
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = at(now - 60)?;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((ca_pem, cert.pem(), key.serialize_pem()))
}

fn covers(have: &Names, want: &Names) -> bool {
    want.dns.iter().all(|d| have.dns.contains(d)) && want.ips.iter().all(|i| have.ips.contains(i))
}

/// How long an older CA stays in the bundle once a newer one was issued: long enough for every
/// replica to serve the new certificate and every apiserver to have seen the new bundle.
pub const OLD_CA_GRACE_SECONDS: i64 = 3600;
/// A newly issued certificate is served only this long after its CA was issued, so that the
/// bundle carrying the new CA has reached every apiserver (webhook configurations and CRDs are
/// read through informers) before any request meets the new certificate.
pub const SWITCH_DELAY_SECONDS: i64 = 30;

/// IP addresses given as DNS names are IP SANs (rcgen makes them so; comparing them as names
/// would never match and reissue forever).
fn normalize(names: &Names) -> Names {
    let mut out = Names {
        dns: Vec::new(),
        ips: names.ips.clone(),
    };
    for d in &names.dns {
        match d.parse::<IpAddr>() {
            Ok(ip) if !out.ips.contains(&ip) => out.ips.push(ip),
            Ok(_) => {}
            Err(_) => out.dns.push(d.clone()),
        }
    }
    out
}

/// When a CA was issued (its `notBefore` is set a minute early).
fn issued_at(pem: &str) -> Result<i64, CertError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| CertError::Parse(e.to_string()))?;
    let cert = block
        .parse_x509()
        .map_err(|e| CertError::Parse(e.to_string()))?;
    Ok(cert.validity().not_before.timestamp() + 60)
}

/// When the serving certificate of `material` may be served: [`SWITCH_DELAY_SECONDS`] after its
/// CA (the first of the bundle) was issued, or half the renewal margin when that is shorter (the
/// certificate served meanwhile must not expire first).
pub fn serve_from(material: &Material, life: &Lifetimes) -> Result<i64, CertError> {
    let first = pem_blocks(&material.ca_bundle)
        .into_iter()
        .next()
        .ok_or_else(|| CertError::Parse("empty CA bundle".into()))?;
    Ok(issued_at(&first)? + SWITCH_DELAY_SECONDS.min(life.renew_before / 2))
}

/// Brings `existing` material up to date for `names` at time `now`: issues a new CA and serving
/// certificate when there is none, when it is due for renewal, does not cover the names, or
/// `reissue` is asked (material an older release made, with a stored CA key); keeps older CAs
/// in the bundle for [`OLD_CA_GRACE_SECONDS`] after a newer one and never past their expiry.
/// Returns the material and what changed.
pub fn reconcile(
    existing: Option<&Material>,
    names: &Names,
    now: i64,
    life: &Lifetimes,
    reissue: bool,
) -> Result<(Material, Change), CertError> {
    let names = normalize(names);
    // CAs still valid, newest first; an unreadable block is dropped.
    let valid: Vec<String> = existing
        .map(|m| pem_blocks(&m.ca_bundle))
        .unwrap_or_default()
        .into_iter()
        .filter(|c| inspect(c).is_ok_and(|(end, _)| end > now))
        .collect();
    let serving = existing
        .filter(|m| !m.key.is_empty() && !m.ca_bundle.is_empty())
        .map(|m| inspect(&m.cert))
        .transpose()?;
    let keep = !reissue
        && matches!(&serving, Some((end, have)) if end - now >= life.renew_before && covers(have, &names))
        && !valid.is_empty();
    if let (true, Some(current)) = (keep, existing) {
        let newest = issued_at(&valid[0]).unwrap_or(now);
        let within_grace = now < newest + OLD_CA_GRACE_SECONDS;
        let bundle: String = valid
            .iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || within_grace)
            .map(|(_, c)| c.as_str())
            .collect();
        let change = if bundle == current.ca_bundle {
            Change::None
        } else {
            Change::Pruned
        };
        let material = Material {
            ca_bundle: bundle,
            ..current.clone()
        };
        return Ok((material, change));
    }
    let (ca, cert, key) = issue(&names, now, life)?;
    Ok((
        Material {
            ca_bundle: ca + &valid.concat(),
            cert,
            key,
        },
        Change::Issued,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            dns: vec!["svc.ns.svc".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn life() -> Lifetimes {
        Lifetimes {
            serving: 100,
            renew_before: 30,
        }
    }

    #[test]
    fn issues_then_keeps_then_renews_with_a_new_ca() {
        let (m, change) = reconcile(None, &names(), NOW, &life(), false).unwrap();
        assert_eq!(change, Change::Issued);
        let (end, have) = inspect(&m.cert).unwrap();
        assert_eq!(end, NOW + 100);
        assert!(covers(&have, &names()));
        assert_eq!(pem_blocks(&m.ca_bundle).len(), 1);
        assert_eq!(
            inspect(&m.ca_bundle).unwrap().0,
            NOW + 100,
            "the CA lives as long as its one certificate"
        );
        let (same, change) = reconcile(Some(&m), &names(), NOW + 50, &life(), false).unwrap();
        assert_eq!(change, Change::None);
        assert_eq!(same, m);
        let (renewed, change) = reconcile(Some(&m), &names(), NOW + 75, &life(), false).unwrap();
        assert_eq!(change, Change::Issued);
        assert_ne!(renewed.cert, m.cert);
        assert_eq!(serving_not_after(&renewed).unwrap(), NOW + 175);
        assert_eq!(pem_blocks(&renewed.ca_bundle).len(), 2);
        assert!(
            renewed.ca_bundle.ends_with(&m.ca_bundle),
            "the old CA stays after the new one, so the old certificate is still trusted"
        );
        let (later, change) =
            reconcile(Some(&renewed), &names(), NOW + 101, &life(), false).unwrap();
        assert_eq!(change, Change::Pruned);
        assert_eq!(pem_blocks(&later.ca_bundle).len(), 1, "expired CA dropped");
        assert_eq!(later.cert, renewed.cert);
    }

    #[test]
    fn the_serving_certificate_chains_to_the_first_ca_of_the_bundle() {
        let (m, _) = reconcile(None, &names(), NOW, &life(), false).unwrap();
        let (m2, _) = reconcile(Some(&m), &names(), NOW + 80, &life(), false).unwrap();
        let ca_block = pem_blocks(&m2.ca_bundle).remove(0);
        let (_, ca) = x509_parser::pem::parse_x509_pem(ca_block.as_bytes()).unwrap();
        let ca = ca.parse_x509().unwrap();
        let (_, leaf) = x509_parser::pem::parse_x509_pem(m2.cert.as_bytes()).unwrap();
        let leaf = leaf.parse_x509().unwrap();
        assert_eq!(leaf.issuer(), ca.subject());
        leaf.verify_signature(Some(ca.public_key())).unwrap();
        assert!(ca.is_ca());
    }

    #[test]
    fn new_names_reissue() {
        let (m, _) = reconcile(None, &names(), NOW, &Lifetimes::default(), false).unwrap();
        let more = Names {
            dns: vec!["svc.ns.svc".into(), "other.ns.svc".into()],
            ips: vec![],
        };
        let (m2, change) =
            reconcile(Some(&m), &more, NOW + 1, &Lifetimes::default(), false).unwrap();
        assert_eq!(change, Change::Issued);
        assert!(covers(&inspect(&m2.cert).unwrap().1, &more));
    }

    #[test]
    fn the_bundle_stays_bounded_under_repeated_renewal() {
        let mut m = reconcile(None, &names(), NOW, &life(), false).unwrap().0;
        let mut most = 0;
        for step in 1..200 {
            m = reconcile(Some(&m), &names(), NOW + step * 7, &life(), false)
                .unwrap()
                .0;
            most = most.max(pem_blocks(&m.ca_bundle).len());
        }
        assert!(
            most <= 2,
            "at most the current CA and the one before it: {most}"
        );
    }

    #[test]
    fn older_material_is_reissued_and_its_ca_dropped_after_the_grace() {
        let long = Lifetimes::default();
        let (old, _) = reconcile(None, &names(), NOW, &long, false).unwrap();
        let (m, change) = reconcile(Some(&old), &names(), NOW + 10, &long, true).unwrap();
        assert_eq!(change, Change::Issued);
        assert_eq!(
            pem_blocks(&m.ca_bundle).len(),
            2,
            "the old CA while replicas switch"
        );
        let (same, change) = reconcile(Some(&m), &names(), NOW + 100, &long, false).unwrap();
        assert_eq!(
            (change, pem_blocks(&same.ca_bundle).len()),
            (Change::None, 2)
        );
        let (later, change) = reconcile(
            Some(&m),
            &names(),
            NOW + 10 + OLD_CA_GRACE_SECONDS + 1,
            &long,
            false,
        )
        .unwrap();
        assert_eq!(change, Change::Pruned);
        assert_eq!(
            pem_blocks(&later.ca_bundle).len(),
            1,
            "the old CA is trusted no more"
        );
        assert_eq!(later.cert, m.cert);
    }

    #[test]
    fn an_ip_given_as_a_name_does_not_reissue_forever() {
        let with_ip = Names {
            dns: vec!["svc.ns.svc".into(), "10.0.0.1".into()],
            ips: vec![],
        };
        let (m, _) = reconcile(None, &with_ip, NOW, &Lifetimes::default(), false).unwrap();
        let (_, change) =
            reconcile(Some(&m), &with_ip, NOW + 10, &Lifetimes::default(), false).unwrap();
        assert_eq!(change, Change::None);
        assert!(
            inspect(&m.cert)
                .unwrap()
                .1
                .ips
                .contains(&"10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn a_new_certificate_is_served_after_its_ca_has_spread() {
        let (m, _) = reconcile(None, &names(), NOW, &life(), false).unwrap();
        assert_eq!(
            serve_from(&m, &Lifetimes::default()).unwrap(),
            NOW + SWITCH_DELAY_SECONDS
        );
        assert_eq!(
            serve_from(&m, &life()).unwrap(),
            NOW + 15,
            "half the 30 s margin"
        );
    }

    #[test]
    fn garbage_material_is_an_error_not_a_panic() {
        let junk = Material {
            ca_bundle: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".into(),
            cert: "y".into(),
            key: "z".into(),
        };
        assert!(reconcile(Some(&junk), &names(), NOW, &Lifetimes::default(), false).is_err());
    }
}
