/// How the hub should react to an error, whatever crate raised it. Serialised as
/// [`ErrorClass::as_str`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// Worth retrying later: a timeout, a dropped connection, a 5xx answer.
    Transient,
    /// One record (or one page) is unusable; it goes to quarantine and the run goes on.
    BadRecord,
    /// Configuration or programming error; the run of this source stops.
    Fatal,
}

impl ErrorClass {
    /// Lower-case name used in logs, `status` and the quarantine table.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::BadRecord => "bad_record",
            ErrorClass::Fatal => "fatal",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every library error type so the pipeline can decide what to do.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_as_named() {
        for c in [
            ErrorClass::Transient,
            ErrorClass::BadRecord,
            ErrorClass::Fatal,
        ] {
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }
}
