//! Text cleaning transforms shared by all fields.

use std::sync::OnceLock;

use ferrous_opencc::{config::BuiltinConfig, OpenCC};
use unicode_normalization::UnicodeNormalization;

/// Unicode NFKC: full-width letters, digits and punctuation become their ASCII forms
/// (`１２３` → `123`, `（` → `(`), compatibility ideographs their unified forms.
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// Half-width, upper case, no white space at all: how a code the validators reject is kept
/// (a tax number, an ID or phone typed with spaces and a lower-case check letter).
pub fn compact(s: &str) -> String {
    nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Trims white space, including the ideographic space U+3000, and folds inner runs of white
/// space to one ASCII space.
pub fn trim(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c == '\u{3000}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn converter() -> Option<&'static OpenCC> {
    static T2S: OnceLock<Option<OpenCC>> = OnceLock::new();
    T2S.get_or_init(|| OpenCC::from_config(BuiltinConfig::T2s).ok())
        .as_ref()
}

/// Traditional → Simplified Chinese (OpenCC `t2s` dictionaries, phrase-aware).
/// Text without CJK characters is returned as is, without touching the converter.
pub fn t2s(s: &str) -> String {
    if !s.chars().any(is_han) {
        return s.to_owned();
    }
    match converter() {
        Some(cc) => cc.convert(s),
        None => s.to_owned(),
    }
}

/// Whether a character is a CJK unified ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// A personal name as departments should compare it: NFKC, Simplified, no spaces between
/// Chinese characters, the middle dot of minority names unified to `·`.
pub fn clean_person_name(s: &str) -> String {
    let s = t2s(&trim(&nfkc(s)));
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            ' ' => {
                let prev_han = i > 0 && is_han(chars[i - 1]);
                let next_han = chars.get(i + 1).is_some_and(|&n| is_han(n));
                if !(prev_han && next_han) {
                    out.push(' ');
                }
            }
            '•' | '・' | '.' | '\u{2027}' | '\u{00B7}' => out.push('·'),
            _ => out.push(c),
        }
    }
    out
}

/// An organisation's name: NFKC (full-width brackets become ASCII), Simplified, no spaces.
pub fn clean_org_name(s: &str) -> String {
    t2s(&nfkc(s))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Legal-form suffixes that name the same form, mapped to one spelling.
const ORG_SUFFIXES: [(&str, &str); 3] = [
    ("股份有限公司", "股份公司"),
    ("有限责任公司", "有限公司"),
    ("有限公司", "有限公司"),
];

/// The form of an organisation's name used to compare two names: cleaned as
/// [`clean_org_name`], the legal-form suffix in one spelling (有限责任公司 → 有限公司,
/// 股份有限公司 → 股份公司), brackets in one width, and a leading city prefix removed
/// (`cities` lists the city names, such as 合肥, whose `X` and `X市` prefixes are dropped).
pub fn org_name_key(name: &str, cities: &[String]) -> String {
    let mut s = clean_org_name(name)
        .replace(['【', '['], "(")
        .replace(['】', ']'], ")");
    for city in cities {
        for prefix in [format!("{city}市"), city.clone()] {
            if let Some(rest) = s.strip_prefix(&prefix) {
                if !rest.is_empty() {
                    s = rest.to_owned();
                    break;
                }
            }
        }
    }
    for (from, to) in ORG_SUFFIXES {
        if let Some(stem) = s.strip_suffix(from) {
            return format!("{stem}{to}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_folds_full_width() {
        assert_eq!(nfkc("１３８０００１３０００"), "13800013000");
        assert_eq!(nfkc("（合肥）"), "(合肥)");
    }

    #[test]
    fn trim_folds_white_space() {
        assert_eq!(trim("\u{3000} 张  三 \t"), "张 三");
    }

    #[test]
    fn t2s_converts_traditional() {
        assert_eq!(t2s("長江西路3棟"), "长江西路3栋");
        assert_eq!(t2s("abc"), "abc");
    }

    #[test]
    fn person_names_are_cleaned() {
        assert_eq!(clean_person_name(" 張 三 "), "张三");
        assert_eq!(clean_person_name("买买提•艾力"), "买买提·艾力");
        assert_eq!(clean_person_name("John  Smith"), "John Smith");
    }

    #[test]
    fn org_name_keys_fold_legal_forms_brackets_and_the_city() {
        let cities = vec!["合肥".to_owned()];
        let a = org_name_key("合肥市望江科技有限责任公司", &cities);
        assert_eq!(a, "望江科技有限公司");
        assert_eq!(org_name_key("合肥望江科技有限公司", &cities), a);
        assert_eq!(org_name_key("望江科技有限公司", &cities), a);
        assert_eq!(
            org_name_key("安徽黄山旅游股份有限公司", &[]),
            org_name_key("安徽黄山旅游股份公司", &[])
        );
        assert_eq!(
            org_name_key("华为技术（合肥）有限公司", &[]),
            org_name_key("华为技术(合肥)有限公司", &[])
        );
        assert_eq!(org_name_key("合肥", &cities), "合肥", "a bare city stays");
    }
}
