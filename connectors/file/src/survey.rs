//! One streaming pass over a file before it is parsed: its size, its SHA-256 (to skip an export
//! already read) and, for CSV in `encoding = "auto"`, the evidence for its encoding. Memory is a
//! fixed buffer whatever the file's size.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::Encoding;

pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const CHUNK: usize = 256 * 1024;

/// What one pass over a file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub bytes: u64,
    pub sha256: String,
    pub utf8: Utf8Evidence,
    pub bom: bool,
}

/// UTF-8 validity of a byte stream, counted across chunk boundaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utf8Evidence {
    /// Well-formed multi-byte sequences (each a non-ASCII character).
    pub multibyte: u64,
    /// Ill-formed sequences.
    pub invalid: u64,
    /// The file ends inside a character (cut off mid-sequence): not counted as invalid, since
    /// only the last row is damaged.
    pub truncated_tail: bool,
}

impl Utf8Evidence {
    /// Counts `chunk`, carrying an incomplete trailing sequence in `carry` to the next call.
    fn feed(&mut self, carry: &mut Vec<u8>, chunk: &[u8]) {
        let mut buf = std::mem::take(carry);
        buf.extend_from_slice(chunk);
        let mut rest: &[u8] = &buf;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.multibyte += count_multibyte(s);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `good` is valid by construction.
                    self.multibyte += count_multibyte(std::str::from_utf8(good).unwrap_or(""));
                    match e.error_len() {
                        Some(n) => {
                            self.invalid += 1;
                            rest = &bad[n..];
                        }
                        None => {
                            carry.extend_from_slice(bad);
                            break;
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self, carry: &[u8]) {
        self.truncated_tail = !carry.is_empty();
    }
}

fn count_multibyte(s: &str) -> u64 {
    s.bytes().filter(|b| *b >= 0xC0).count() as u64
}

/// Reads the file once. `sniff`: also gather the UTF-8 evidence (CSV with `encoding = "auto"`).
pub fn survey(path: &Path, sniff: bool) -> std::io::Result<Survey> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut bytes = 0u64;
    let mut utf8 = Utf8Evidence::default();
    let mut carry = Vec::new();
    let mut bom = false;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if bytes == 0 {
            bom = chunk.starts_with(UTF8_BOM);
        }
        hasher.update(chunk);
        bytes += n as u64;
        if sniff {
            utf8.feed(&mut carry, chunk);
        }
    }
    utf8.finish(&carry);
    Ok(Survey {
        bytes,
        sha256: hex::encode(hasher.finalize()),
        utf8,
        bom,
    })
}

/// Ill-formed GB18030 sequences in the file (a streaming decode, fixed memory), a truncated
/// final sequence not counted.
fn gb18030_invalid(path: &Path) -> std::io::Result<u64> {
    use encoding_rs::DecoderResult;
    let mut file = std::fs::File::open(path)?;
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut buf = vec![0u8; CHUNK];
    let mut out = String::with_capacity(CHUNK * 2);
    let mut invalid = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        let last = n == 0;
        pending.extend_from_slice(&buf[..n]);
        let mut input: &[u8] = &pending;
        loop {
            out.clear();
            let (result, read) =
                decoder.decode_to_string_without_replacement(input, &mut out, last);
            input = &input[read..];
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => continue,
                DecoderResult::Malformed(_, _) => {
                    // At the very end a malformed sequence is the cut-off tail.
                    if !(last && input.is_empty()) {
                        invalid += 1;
                    }
                }
            }
        }
        pending.clear();
        if last {
            break;
        }
    }
    Ok(invalid)
}

/// The encoding to read a CSV file with. Declared encodings are taken as they are. Without a
/// declaration: UTF-8 when there is a UTF-8 BOM, when the bytes are UTF-8 (a file cut off inside
/// its last character included: that row alone is damaged), or when well-formed multi-byte
/// characters are at least twice as many as ill-formed sequences (a UTF-8 export with some
/// damaged or foreign lines, which are quarantined; Chinese GB18030 text read as UTF-8 gives
/// about one well-formed sequence to five ill-formed ones); otherwise GB18030 when it leaves
/// fewer ill-formed sequences than UTF-8. Chinese text in UTF-8 is almost always *valid* GB18030 (as mojibake),
/// so GB18030 is chosen only on evidence against UTF-8, never for a GB18030 decode being clean.
pub fn detect(path: &Path, survey: &Survey, declared: Encoding) -> std::io::Result<Encoding> {
    let u = &survey.utf8;
    Ok(match declared {
        Encoding::Auto if survey.bom => Encoding::Utf8,
        Encoding::Auto if u.invalid == 0 => Encoding::Utf8,
        Encoding::Auto if u.multibyte >= 2 * u.invalid => Encoding::Utf8,
        Encoding::Auto => {
            if gb18030_invalid(path)? < u.invalid {
                Encoding::Gb18030
            } else {
                Encoding::Utf8
            }
        }
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    fn detected(bytes: &[u8]) -> Encoding {
        let (_d, p) = write(bytes);
        let s = survey(&p, true).unwrap();
        detect(&p, &s, Encoding::Auto).unwrap()
    }

    #[test]
    fn utf8_and_gb18030_files() {
        assert_eq!(detected("id,name\n1,张三\n".as_bytes()), Encoding::Utf8);
        let (gb, _, _) = encoding_rs::GB18030.encode("编号,姓名\nJK1,张三\nJK2,李四\n");
        assert_eq!(detected(&gb), Encoding::Gb18030);
    }

    #[test]
    fn h7_utf8_cut_inside_its_last_character_stays_utf8() {
        let mut b = "id,name\n1,张三,13800138001\n2,李".as_bytes().to_vec();
        b.pop();
        assert_eq!(detected(&b), Encoding::Utf8);
        let (_d, p) = write(&b);
        assert!(survey(&p, true).unwrap().utf8.truncated_tail);
    }

    #[test]
    fn damaged_utf8_stays_utf8() {
        let mut b = "id,name\n1,张三\n2,李四\n3,王五\n".as_bytes().to_vec();
        b.extend_from_slice(&[b'4', b',', 0xFF, b'\n']);
        assert_eq!(detected(&b), Encoding::Utf8);
    }

    #[test]
    fn evidence_is_counted_across_chunk_boundaries() {
        let text = "张三李四王五".repeat(CHUNK / 5);
        let (_d, p) = write(text.as_bytes());
        let s = survey(&p, true).unwrap();
        assert_eq!(s.utf8.invalid, 0);
        assert_eq!(s.utf8.multibyte, text.chars().count() as u64);
        assert_eq!(s.bytes, text.len() as u64);
    }
}
