//! CSV decoding at the byte level: the parser splits rows on bytes (GB18030 trail bytes never
//! collide with `,`, `"` or line ends), then each field is decoded strictly, so one bad row
//! cannot poison its neighbours.

use crate::table::{excerpt, Row, Table};
use crate::Encoding;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding to read a file with. Without a declaration: UTF-8 when there is a UTF-8 BOM
/// or the bytes are UTF-8; otherwise whichever of UTF-8 and GB18030 leaves fewer undecodable
/// sequences (so a UTF-8 file with one bad byte stays UTF-8, and that row is quarantined).
pub fn detect(bytes: &[u8], declared: Encoding) -> Encoding {
    match declared {
        Encoding::Auto if bytes.starts_with(UTF8_BOM) => Encoding::Utf8,
        Encoding::Auto if std::str::from_utf8(bytes).is_ok() => Encoding::Utf8,
        Encoding::Auto => {
            let bad_utf8 = String::from_utf8_lossy(bytes)
                .chars()
                .filter(|&c| c == char::REPLACEMENT_CHARACTER)
                .count();
            let gb = encoding_rs::GB18030.decode_without_bom_handling(bytes).0;
            let bad_gb = gb
                .chars()
                .filter(|&c| c == char::REPLACEMENT_CHARACTER)
                .count();
            if bad_gb == 0 || bad_gb < bad_utf8 {
                Encoding::Gb18030
            } else {
                Encoding::Utf8
            }
        }
        e => e,
    }
}

fn decode(field: &[u8], encoding: Encoding) -> Result<String, String> {
    match encoding {
        Encoding::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(field)
            .map(|c| c.into_owned())
            .ok_or_else(|| format!("bytes that are not GB18030 in {}", hex_excerpt(field))),
        _ => std::str::from_utf8(field).map(str::to_owned).map_err(|e| {
            let at = e.valid_up_to();
            format!(
                "invalid UTF-8 byte 0x{:02X} at offset {at}",
                field.get(at).copied().unwrap_or(0)
            )
        }),
    }
}

fn hex_excerpt(b: &[u8]) -> String {
    b.iter()
        .take(16)
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn lossy(b: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling(b)
            .0
            .into_owned(),
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Decodes a CSV file. `Err` only when the header itself is unreadable.
pub fn read(bytes: &[u8], declared: Encoding, delimiter: char) -> Result<Table, String> {
    let encoding = detect(bytes, declared);
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let delim = u8::try_from(delimiter)
        .map_err(|_| format!("delimiter {delimiter:?} is not a single byte"))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .delimiter(delim)
        .from_reader(body);
    let headers = rdr
        .byte_headers()
        .map_err(|e| format!("unreadable header: {e}"))?
        .clone();
    let headers: Vec<String> = headers
        .iter()
        .map(|h| decode(h, encoding).map(|s| s.trim().to_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("header: {e}"))?;
    let mut rows = Vec::new();
    for result in rdr.byte_records() {
        match result {
            Ok(rec) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                let raw = lossy(rec.as_slice(), encoding);
                let cells = if rec.len() != headers.len() {
                    Err(format!(
                        "expected {} fields, found {} (truncated or broken line)",
                        headers.len(),
                        rec.len()
                    ))
                } else {
                    rec.iter()
                        .enumerate()
                        .map(|(i, f)| {
                            decode(f, encoding)
                                .map(|s| Some(s).filter(|s| !s.is_empty()))
                                .map_err(|e| format!("column {:?}: {e}", headers[i]))
                        })
                        .collect()
                };
                rows.push(Row {
                    line,
                    cells,
                    excerpt: excerpt(&raw),
                });
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                rows.push(Row {
                    line,
                    cells: Err(format!("unreadable CSV: {e}")),
                    excerpt: String::new(),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gb18030() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("编号,姓名\nJK1,张三\nJK2,李四\n");
        let t = read(&bytes, Encoding::Auto, ',').unwrap();
        assert_eq!(t.headers, vec!["编号", "姓名"]);
        assert_eq!(
            t.rows[1].cells,
            Ok(vec![Some("JK2".into()), Some("李四".into())])
        );
    }

    #[test]
    fn utf8_bom_and_bad_rows() {
        let bytes =
            b"\xEF\xBB\xBFid,name\n1,\xE5\xBC\xA0\xE4\xB8\x89\n2,bad\xFFbyte\n3\n4,ok\n".to_vec();
        let t = read(&bytes, Encoding::Utf8, ',').unwrap();
        assert_eq!(t.headers, vec!["id", "name"]);
        assert_eq!(
            t.rows[0].cells,
            Ok(vec![Some("1".into()), Some("张三".into())])
        );
        assert!(t.rows[1]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("invalid UTF-8 byte 0xFF"));
        assert!(t.rows[2]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("expected 2 fields, found 1"));
        assert_eq!(
            t.rows[3].cells,
            Ok(vec![Some("4".into()), Some("ok".into())])
        );
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.rows[2].line, 4);
    }

    #[test]
    fn detects_damaged_utf8_as_utf8() {
        let bytes = "id,name\n1,张三\n2,李四\n3,王五\n"
            .as_bytes()
            .iter()
            .copied()
            .chain([b'4', b',', 0xFF, b'\n'])
            .collect::<Vec<_>>();
        assert_eq!(detect(&bytes, Encoding::Auto), Encoding::Utf8);
    }
}
