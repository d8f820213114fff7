//! URL templates: `{name}` or `{name:0N}` placeholders.

use std::collections::BTreeMap;

/// Fills the placeholders of `template`; unknown placeholders are left as they are.
pub fn fill(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &rest[open + 1..open + close];
        let (name, width) = match inner.split_once(':') {
            Some((n, w)) => (n, w.trim_start_matches('0').parse::<usize>().ok()),
            None => (inner, None),
        };
        match vars.get(name) {
            Some(v) => match width {
                Some(w) => out.push_str(&format!("{v:0>w$}")),
                None => out.push_str(&encode(v)),
            },
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes what is not safe in a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        let vars = BTreeMap::from([
            ("page", "3".to_owned()),
            ("size", "500".to_owned()),
            ("since", "2024-01-01 08:00".to_owned()),
        ]);
        assert_eq!(
            fill("http://h/page-{page:04}.json", &vars),
            "http://h/page-0003.json"
        );
        assert_eq!(
            fill("http://h/r?page={page}&size={size}&since={since}", &vars),
            "http://h/r?page=3&size=500&since=2024-01-01%2008%3A00"
        );
        assert_eq!(fill("http://h/{unknown}", &vars), "http://h/{unknown}");
    }
}
