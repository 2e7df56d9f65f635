//! People: parsing what a new user is made of (email, name, time zone, role).

use crate::access::Role;
use crate::command::MAX_NAME;
use crate::validate::{self, FieldErrors};

/// A user as an admin types it, before parsing.
#[derive(Clone, Debug, Default)]
pub struct RawPerson {
    pub email: Option<String>,
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub role: Option<String>,
}

/// A user that passed every check. The email is lower-cased: it is how a person is named
/// in timelines, roles and memberships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPerson {
    pub email: String,
    pub name: String,
    pub time_zone: String,
    pub role: Role,
}

pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 1024;

/// A plausible address: one `@`, something on each side, a dot in the domain, no spaces.
pub fn parse_email(text: &str) -> Option<String> {
    let text = text.trim().to_lowercase();
    let (local, domain) = text.split_once('@')?;
    let plausible = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(text)
}

/// An IANA zone name jiff knows (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(text: &str) -> Option<String> {
    let text = text.trim();
    jiff::tz::TimeZone::get(text).ok().map(|_| text.to_string())
}

pub fn parse_person(raw: RawPerson) -> Result<NewPerson, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = match raw.email.as_deref().map(parse_email) {
        Some(Some(email)) => email,
        Some(None) => {
            errors.add("email", "not an email address");
            String::new()
        }
        None => {
            errors.add("email", "required");
            String::new()
        }
    };
    let name = validate::text(&mut errors, "name", raw.name.as_deref(), 1, MAX_NAME);
    let time_zone = match raw.time_zone.as_deref().map(str::trim) {
        None | Some("") => "UTC".to_string(),
        Some(text) => parse_time_zone(text).unwrap_or_else(|| {
            errors.add(
                "time_zone",
                format!("unknown time zone {text:?}; use an IANA name such as Europe/Berlin"),
            );
            String::new()
        }),
    };
    let role = match raw.role.as_deref() {
        None | Some("") => Role::Responder,
        Some(text) => Role::parse(text).unwrap_or_else(|| {
            errors.add("role", "expected one of viewer, responder, admin");
            Role::Viewer
        }),
    };
    errors.into_result()?;
    Ok(NewPerson {
        email,
        name,
        time_zone,
        role,
    })
}

/// Length bounds for a new password; the hash itself is the server's business.
pub fn check_password(errors: &mut FieldErrors, field: &str, password: &str) {
    let n_chars = password.chars().count();
    if n_chars < MIN_PASSWORD {
        errors.add(
            field,
            format!("use at least {MIN_PASSWORD} characters; a passphrase is easiest"),
        );
    } else if n_chars > MAX_PASSWORD {
        errors.add(field, format!("use at most {MAX_PASSWORD} characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let table = [
            ("ana@example.com", Some("ana@example.com")),
            ("  Ana@Example.COM ", Some("ana@example.com")),
            ("ana@localhost", None),
            ("ana", None),
            ("@example.com", None),
            ("ana@@example.com", None),
            ("a na@example.com", None),
            ("ana@example.", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_email(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn people() {
        let raw = |email: &str, tz: &str, role: &str| RawPerson {
            email: Some(email.into()),
            name: Some("Ana".into()),
            time_zone: Some(tz.into()),
            role: Some(role.into()),
        };
        let ok = parse_person(raw("ana@example.com", "Europe/Berlin", "admin")).unwrap();
        assert_eq!(ok.time_zone, "Europe/Berlin");
        assert_eq!(ok.role, Role::Admin);
        let defaults = parse_person(raw("ana@example.com", "", "")).unwrap();
        assert_eq!(
            (defaults.time_zone.as_str(), defaults.role),
            ("UTC", Role::Responder)
        );
        let bad = parse_person(raw("nope", "Mars/Olympus", "king")).unwrap_err();
        let fields: Vec<_> = bad.0.keys().cloned().collect();
        assert_eq!(fields, ["email", "role", "time_zone"]);
    }

    #[test]
    fn passwords() {
        let table = [("short", true), ("correct horse battery", false)];
        for (password, rejected) in table {
            let mut errors = FieldErrors::default();
            check_password(&mut errors, "password", password);
            assert_eq!(!errors.is_empty(), rejected, "{password}");
        }
    }
}
