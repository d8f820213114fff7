//! Exported files are opened by people, often in a spreadsheet: a cell that a spreadsheet would
//! run as a formula is written as text.

/// A CSV cell safe to open in a spreadsheet: a value starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return (which Excel, LibreOffice and Sheets run as a formula) gets a leading `'`,
/// as OWASP advises; every other value is written as it is.
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l5_formulas_are_written_as_text() {
        assert_eq!(cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(cell("+1+1"), "'+1+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("JK0001"), "JK0001");
        assert_eq!(cell(""), "");
    }
}
