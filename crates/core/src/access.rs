//! Who may do what: people's roles, and which incidents a caller may see.

use std::collections::BTreeSet;

use crate::event::{Detail, EventData};
use crate::incident::Incident;
use crate::token::Scope;

/// A person's role. Viewers read; responders declare and act; admins also manage people,
/// tokens and settings. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Responder, Role::Admin];

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "responder" => Some(Role::Responder),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }

    /// The role a token's scope stands for: read → viewer, write → responder, admin → admin.
    pub fn from_scope(scope: Scope) -> Role {
        match scope {
            Scope::Read => Role::Viewer,
            Scope::Write => Role::Responder,
            Scope::Admin => Role::Admin,
        }
    }

    /// What a caller may do: a token acts as its owner, but never beyond its own scope.
    pub fn effective(owner: Option<Role>, scope: Option<Scope>) -> Role {
        let from_scope = scope.map(Role::from_scope);
        match (owner, from_scope) {
            (Some(owner), Some(scope)) => owner.min(scope),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => Role::Viewer,
        }
    }
}

/// Which incidents a caller may see. Public incidents are visible to everyone signed in;
/// a private one only to its members and to admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Admins see everything.
    All,
    /// A person sees public incidents and the private ones they are a member of.
    Member(String),
    /// A caller who is nobody in particular (a token without an owner) sees public ones only.
    PublicOnly,
}

impl Access {
    pub fn for_caller(role: Role, person: Option<&str>) -> Access {
        match (role, person) {
            (Role::Admin, _) => Access::All,
            (_, Some(person)) => Access::Member(person.to_string()),
            (_, None) => Access::PublicOnly,
        }
    }

    pub fn can_see(&self, incident: &Incident) -> bool {
        self.sees(incident.private, &incident.members)
    }

    /// `can_see` from the two fields that decide it.
    pub fn sees(&self, private: bool, members: &BTreeSet<String>) -> bool {
        if !private {
            return true;
        }
        match self {
            Access::All => true,
            Access::Member(person) => members.contains(person),
            Access::PublicOnly => false,
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Access::All)
    }
}

/// Whoever makes an incident private keeps seeing it: when `events` turn `incident` private
/// and `actor` (a person, not a token without one) is not a member, the member event to add.
pub fn keep_author_in<'a>(
    incident: &Incident,
    events: impl IntoIterator<Item = &'a EventData>,
    actor: &str,
) -> Option<EventData> {
    let made_private = events.into_iter().any(|event| {
        matches!(
            event,
            EventData::DetailsChanged {
                to: Detail::Private(true),
                ..
            }
        )
    });
    let person = crate::event::Actor::parse(actor);
    let person = person.person()?;
    (made_private && !incident.members.contains(person)).then(|| EventData::MemberAdded {
        member: person.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::incident;
    use crate::lifecycle::Status;

    #[test]
    fn effective_role_is_the_smaller_of_owner_and_scope() {
        let table = [
            (Some(Role::Admin), Some(Scope::Read), Role::Viewer),
            (Some(Role::Viewer), Some(Scope::Admin), Role::Viewer),
            (Some(Role::Responder), Some(Scope::Write), Role::Responder),
            (Some(Role::Responder), None, Role::Responder),
            (None, Some(Scope::Admin), Role::Admin),
            (None, None, Role::Viewer),
        ];
        for (owner, scope, expected) in table {
            assert_eq!(
                Role::effective(owner, scope),
                expected,
                "{owner:?} {scope:?}"
            );
        }
    }

    #[test]
    fn roles_parse_and_order() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert!(Role::Admin.allows(Role::Responder));
        assert!(!Role::Viewer.allows(Role::Responder));
    }

    #[test]
    fn making_an_incident_private_keeps_its_author_in() {
        let incident = incident(Status::Investigating);
        let private = EventData::DetailsChanged {
            from: Detail::Private(false),
            to: Detail::Private(true),
        };
        let public = EventData::DetailsChanged {
            from: Detail::Private(true),
            to: Detail::Private(false),
        };
        let mut member = incident.clone();
        member.members.insert("ana@x".into());
        let table = [
            (&incident, &private, "ana@x", true),
            (&member, &private, "ana@x", false),
            (&incident, &public, "ana@x", false),
            (&incident, &private, "token:ci", false),
        ];
        for (incident, event, actor, adds) in table {
            let added = keep_author_in(incident, [event], actor);
            assert_eq!(added.is_some(), adds, "{event:?} by {actor}");
        }
    }

    #[test]
    fn who_sees_a_private_incident() {
        let mut private = incident(Status::Investigating);
        private.private = true;
        private.members.insert("ana@example.com".into());
        let public = incident(Status::Investigating);
        let table = [
            (Access::All, true, true),
            (Access::Member("ana@example.com".into()), true, true),
            (Access::Member("bo@example.com".into()), false, true),
            (Access::PublicOnly, false, true),
        ];
        for (access, sees_private, sees_public) in table {
            assert_eq!(access.can_see(&private), sees_private, "{access:?}");
            assert_eq!(access.can_see(&public), sees_public, "{access:?}");
        }
        assert_eq!(
            Access::for_caller(Role::Admin, Some("x")),
            Access::All,
            "admins see everything"
        );
        assert_eq!(Access::for_caller(Role::Viewer, None), Access::PublicOnly);
    }
}
