//! Credentials out of messages: every error, log line and stored status that names a URL
//! names it through [`url`].

/// A URL without its password and query string (which may carry a token), for messages:
/// `postgres://hub:s3cret@db/x?sslmode=require` → `postgres://hub:…@db/x?…`.
pub fn url(text: &str) -> String {
    let (base, query) = match text.split_once('?') {
        Some((b, _)) => (b, "?…"),
        None => (text, ""),
    };
    let redacted = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:…@{host}{path}")
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    format!("{redacted}{query}")
}

/// Whether a URL carries a password: in its user info (`user:secret@host`) or as a query
/// parameter (`?password=…`).
pub fn has_password(text: &str) -> bool {
    let (base, query) = text.split_once('?').unwrap_or((text, ""));
    let in_userinfo = base.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split('/').next().unwrap_or_default();
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    });
    in_userinfo
        || query
            .split('&')
            .any(|p| p.to_ascii_lowercase().starts_with("password="))
}

/// Every URL inside a message redacted (an error text from a library may quote one).
pub fn urls_in(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("://") {
        // The start of the scheme: letters, digits, '+', '-', '.' before "://".
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |p| p + 1);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || "\"'`<>)]},".contains(c))
            .map_or(rest.len(), |p| i + p);
        out.push_str(&rest[..start]);
        out.push_str(&url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_told_from_a_user_name_and_tls_settings() {
        assert!(has_password("postgres://u:pw@h:5432/db"));
        assert!(has_password(
            "postgres://u@h/db?sslmode=require&password=pw"
        ));
        assert!(!has_password("postgres://postgres@127.0.0.1:5432/db"));
        assert!(!has_password(
            "postgres://u@localhost/db?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        ));
        assert!(!has_password("sqlite:/var/lib/tombolo/hub.db"));
    }

    #[test]
    fn passwords_and_query_strings_are_removed() {
        assert_eq!(
            url("postgresql+psycopg://postgres:pw-in-url-777@h:5432/db"),
            "postgresql+psycopg://postgres:…@h:5432/db"
        );
        assert_eq!(url("http://api/x?token=abc&page=1"), "http://api/x?…");
        assert_eq!(url("sqlite:hub.db"), "sqlite:hub.db");
        assert_eq!(url("https://a@b/c@d"), "https://a:…@b/c@d");
        let m = urls_in(
            "error sending request for url (http://h/p?token=SECRET): boom; see mysql://u:pw@h/db.",
        );
        assert!(!m.contains("SECRET") && !m.contains("pw@"), "{m}");
        assert!(
            m.contains("http://h/p?…") && m.contains("mysql://u:…@h/db"),
            "{m}"
        );
    }
}
