//! Self-managed webhook certificates: a CA and a serving certificate signed by it, issued and
//! renewed as a pure function of what exists, the names to serve, and the time given.
//!
//! Renewal never breaks a connection: a serving certificate is renewed with the same CA, so the
//! apiserver's `caBundle` stays valid; when the CA itself nears expiry a new CA is made and the
//! bundle carries both (new first) until the old one expires.

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
    /// Validity of a CA.
    pub ca: i64,
    /// Validity of a serving certificate.
    pub serving: i64,
    /// Renew a certificate when less than this remains of it.
    pub renew_before: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Self {
            ca: 10 * 365 * DAY,
            serving: 365 * DAY,
            renew_before: 30 * DAY,
        }
    }
}

/// The certificate material, as stored in the Secret (all PEM).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Material {
    /// CA certificates trusted for the webhook, current CA first (the `caBundle`).
    pub ca_bundle: String,
    /// The current CA's private key.
    pub ca_key: String,
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
    /// A new serving certificate from the existing CA.
    Serving,
    /// A new CA (the old one stays in the bundle while valid) and a new serving certificate.
    CaAndServing,
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

fn new_ca(now: i64, life: &Lifetimes) -> Result<(String, String), CertError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("turnstile-webhook-ca-{now}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = at(now - 60)?;
    params.not_after = at(now + life.ca)?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn new_serving(
    ca_pem: &str,
    ca_key_pem: &str,
    names: &Names,
    now: i64,
    life: &Lifetimes,
    ca_not_after: i64,
) -> Result<(String, String), CertError> {
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key)?;
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
    params.not_after = at((now + life.serving).min(ca_not_after))?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn covers(have: &Names, want: &Names) -> bool {
    want.dns.iter().all(|d| have.dns.contains(d)) && want.ips.iter().all(|i| have.ips.contains(i))
}

/// Brings `existing` material up to date for `names` at time `now`: issues what is missing,
/// renews what is due, drops expired CAs from the bundle. Returns the material and what changed.
pub fn reconcile(
    existing: Option<&Material>,
    names: &Names,
    now: i64,
    life: &Lifetimes,
) -> Result<(Material, Change), CertError> {
    let current = existing.filter(|m| !m.ca_bundle.is_empty() && !m.ca_key.is_empty());
    let Some(current) = current else {
        let (ca, ca_key) = new_ca(now, life)?;
        let ca_end = inspect(&ca)?.0;
        let (cert, key) = new_serving(&ca, &ca_key, names, now, life, ca_end)?;
        return Ok((
            Material {
                ca_bundle: ca,
                ca_key,
                cert,
                key,
            },
            Change::CaAndServing,
        ));
    };
    let cas = pem_blocks(&current.ca_bundle);
    let Some(current_ca) = cas.first() else {
        return reconcile(None, names, now, life);
    };
    let ca_end = inspect(current_ca)?.0;
    if ca_end - now < life.renew_before {
        let (ca, ca_key) = new_ca(now, life)?;
        let new_end = inspect(&ca)?.0;
        let mut bundle = ca.clone();
        for old in &cas {
            if inspect(old).is_ok_and(|(end, _)| end > now) {
                bundle.push_str(old);
            }
        }
        let (cert, key) = new_serving(&ca, &ca_key, names, now, life, new_end)?;
        return Ok((
            Material {
                ca_bundle: bundle,
                ca_key,
                cert,
                key,
            },
            Change::CaAndServing,
        ));
    }
    let still_valid: String = cas
        .iter()
        .filter(|c| inspect(c).is_ok_and(|(end, _)| end > now))
        .cloned()
        .collect();
    let serving = inspect(&current.cert).ok();
    let due = match &serving {
        None => true,
        Some((end, have)) => end - now < life.renew_before || !covers(have, names),
    };
    if due || current.key.is_empty() {
        let (cert, key) = new_serving(current_ca, &current.ca_key, names, now, life, ca_end)?;
        return Ok((
            Material {
                ca_bundle: still_valid,
                ca_key: current.ca_key.clone(),
                cert,
                key,
            },
            Change::Serving,
        ));
    }
    let changed = still_valid != current.ca_bundle;
    let material = Material {
        ca_bundle: still_valid,
        ..current.clone()
    };
    Ok((
        material,
        if changed {
            Change::Serving
        } else {
            Change::None
        },
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

    #[test]
    fn issues_then_keeps_then_renews() {
        let life = Lifetimes {
            ca: 1000,
            serving: 100,
            renew_before: 30,
        };
        let (m, change) = reconcile(None, &names(), NOW, &life).unwrap();
        assert_eq!(change, Change::CaAndServing);
        let (end, have) = inspect(&m.cert).unwrap();
        assert_eq!(end, NOW + 100);
        assert!(covers(&have, &names()));
        let (same, change) = reconcile(Some(&m), &names(), NOW + 50, &life).unwrap();
        assert_eq!(change, Change::None);
        assert_eq!(same, m);
        let (renewed, change) = reconcile(Some(&m), &names(), NOW + 75, &life).unwrap();
        assert_eq!(change, Change::Serving);
        assert_eq!(
            renewed.ca_bundle, m.ca_bundle,
            "serving renewal keeps the CA, so caBundle stays valid"
        );
        assert_ne!(renewed.cert, m.cert);
        assert_eq!(serving_not_after(&renewed).unwrap(), NOW + 175);
    }

    #[test]
    fn new_names_reissue_the_serving_certificate() {
        let life = Lifetimes::default();
        let (m, _) = reconcile(None, &names(), NOW, &life).unwrap();
        let more = Names {
            dns: vec!["svc.ns.svc".into(), "other.ns.svc".into()],
            ips: vec![],
        };
        let (m2, change) = reconcile(Some(&m), &more, NOW + 1, &life).unwrap();
        assert_eq!(change, Change::Serving);
        assert!(covers(&inspect(&m2.cert).unwrap().1, &more));
    }

    #[test]
    fn ca_rotation_keeps_the_old_ca_in_the_bundle_until_it_expires() {
        let life = Lifetimes {
            ca: 100,
            serving: 50,
            renew_before: 20,
        };
        let (m, _) = reconcile(None, &names(), NOW, &life).unwrap();
        let (m2, change) = reconcile(Some(&m), &names(), NOW + 90, &life).unwrap();
        assert_eq!(change, Change::CaAndServing);
        assert_eq!(pem_blocks(&m2.ca_bundle).len(), 2);
        assert!(
            m2.ca_bundle.ends_with(&m.ca_bundle),
            "old CA kept after the new one"
        );
        let (m3, _) = reconcile(Some(&m2), &names(), NOW + 150, &life).unwrap();
        assert_eq!(pem_blocks(&m3.ca_bundle).len(), 1, "expired CA dropped");
    }

    #[test]
    fn garbage_material_is_an_error_not_a_panic() {
        let junk = Material {
            ca_bundle: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".into(),
            ca_key: "x".into(),
            cert: "y".into(),
            key: "z".into(),
        };
        assert!(reconcile(Some(&junk), &names(), NOW, &Lifetimes::default()).is_err());
    }
}
