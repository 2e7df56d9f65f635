//! Field-level validation errors, collected so a client hears about every bad field at once.

use std::collections::BTreeMap;

/// Field name → a message a person can act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was collected.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// Trims and checks a required text field's length in characters.
pub fn text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> String {
    let value = value.unwrap_or("").trim();
    let n_chars = value.chars().count();
    if n_chars < min {
        if min <= 1 {
            errors.add(field, format!("{field} is required"));
        } else {
            errors.add(field, format!("{field} must be at least {min} characters"));
        }
    } else if n_chars > max {
        errors.add(
            field,
            format!("{field} must be at most {max} characters (got {n_chars})"),
        );
    }
    value.to_string()
}
