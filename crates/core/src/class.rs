/// How the hub should react to an error, whatever crate raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The class of a name [`ErrorClass::as_str`] gave.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Transient, Self::BadRecord, Self::Fatal]
            .into_iter()
            .find(|c| c.as_str() == name)
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
