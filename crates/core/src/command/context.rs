//! What `decide` reads beyond the incident and the command, and which commands need the
//! parts the writer must load first.

use jiff::Timestamp;

use super::Command;
use crate::catalog::Catalog;
use crate::lifecycle::Status;

/// What `decide` reads beyond the incident and the command, loaded by the writer inside
/// the transaction that will write the answer.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub now: Timestamp,
    /// What learning owes; read only for a command that closes (`Command::closes`).
    pub learning: crate::closing::Learning,
}

impl<'a> Context<'a> {
    /// A context with nothing learned yet: a command that closes is refused.
    pub fn new(catalog: &'a Catalog, now: Timestamp) -> Context<'a> {
        Context {
            catalog,
            now,
            learning: crate::closing::Learning::default(),
        }
    }
}

impl Command {
    /// Whether the command asks to close the incident, so the writer must load what
    /// learning owes (`Context::learning`) before deciding.
    pub fn closes(&self) -> bool {
        matches!(
            self,
            Command::Change {
                status: Some(Status::Closed),
                ..
            } | Command::PostUpdate {
                status: Some(Status::Closed),
                ..
            }
        )
    }
}
