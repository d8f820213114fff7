//! CSV read as a stream of physical lines. Lines are split on bytes (GB18030 trail bytes never
//! collide with `,`, `"` or line ends), then each field is decoded strictly, so one bad row
//! cannot poison its neighbours. A quote never swallows the lines after it: a line that ends
//! inside a quoted field is quarantined on its own (or, with `multiline = true`, joined with at
//! most `max_record_lines` following lines, and quarantined alone when that does not close the
//! quote). Every physical line is counted as the header, blank, or part of exactly one row.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::survey::UTF8_BOM;
use crate::table::{excerpt, FileStats, Row, RowStream};
use crate::Encoding;

/// Limits and options of the CSV reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    pub encoding: Encoding,
    pub delimiter: u8,
    pub multiline: bool,
    pub max_record_bytes: usize,
    pub max_record_lines: usize,
}

/// Where a line's end leaves the quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    FieldStart,
    Unquoted,
    InQuotes,
    /// A `"` inside a quoted field: closing, or the first half of `""`.
    Closing,
}

fn scan(bytes: &[u8], delimiter: u8, mut q: Quote) -> Quote {
    for &b in bytes {
        q = match (q, b) {
            (Quote::FieldStart, b'"') => Quote::InQuotes,
            (Quote::FieldStart | Quote::Unquoted, d) if d == delimiter => Quote::FieldStart,
            (Quote::FieldStart | Quote::Unquoted, _) => Quote::Unquoted,
            (Quote::InQuotes, b'"') => Quote::Closing,
            (Quote::InQuotes, _) => Quote::InQuotes,
            (Quote::Closing, b'"') => Quote::InQuotes,
            (Quote::Closing, d) if d == delimiter => Quote::FieldStart,
            (Quote::Closing, _) => Quote::Unquoted,
        };
    }
    q
}

#[derive(Debug)]
struct Line {
    number: u64,
    bytes: Vec<u8>,
    /// Length of the whole line when it was longer than the cap (only a prefix is kept).
    overflow: Option<u64>,
}

/// Decodes one field strictly.
pub fn decode(field: &[u8], encoding: Encoding) -> Result<String, String> {
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

/// A CSV file read row by row.
pub struct CsvRows<R> {
    input: R,
    opts: CsvOptions,
    headers: Vec<String>,
    pending: VecDeque<Line>,
    parser: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    stats: FileStats,
    eof: bool,
}

impl<R> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("opts", &self.opts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Opens a CSV file and reads its header. `Err` only when the header itself is unreadable.
pub fn open(
    path: &Path,
    opts: CsvOptions,
    stats: FileStats,
) -> Result<CsvRows<BufReader<std::fs::File>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    CsvRows::new(BufReader::with_capacity(64 * 1024, file), opts, stats)
}

impl<R: BufRead> CsvRows<R> {
    pub fn new(input: R, opts: CsvOptions, stats: FileStats) -> Result<Self, String> {
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(opts.delimiter)
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        let mut rows = Self {
            input,
            opts,
            headers: Vec::new(),
            pending: VecDeque::new(),
            parser,
            out: Vec::new(),
            ends: Vec::new(),
            stats,
            eof: false,
        };
        rows.read_header()?;
        Ok(rows)
    }

    fn read_header(&mut self) -> Result<(), String> {
        loop {
            let Some(mut line) = self
                .physical_line()
                .map_err(|e| format!("unreadable: {e}"))?
            else {
                return Err("no header line".to_owned());
            };
            if line.number == 1 {
                if let Some(rest) = line.bytes.strip_prefix(UTF8_BOM) {
                    line.bytes = rest.to_vec();
                }
            }
            if line.bytes.is_empty() {
                self.stats.blank_lines += 1;
                continue;
            }
            self.stats.header_lines += 1;
            if let Some(len) = line.overflow {
                return Err(format!(
                    "header line of {len} bytes is over max_record_bytes"
                ));
            }
            let fields = self.split(&line.bytes);
            self.headers = fields
                .iter()
                .map(|h| decode(h, self.opts.encoding).map(|s| s.trim().to_owned()))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("header: {e}"))?;
            return Ok(());
        }
    }

    /// The next physical line from the file, without its line end; at most `max_record_bytes`
    /// of it are kept in memory.
    fn physical_line(&mut self) -> std::io::Result<Option<Line>> {
        if self.eof {
            return Ok(None);
        }
        let cap = self.opts.max_record_bytes;
        let mut bytes = Vec::new();
        let mut len = 0u64;
        let mut ended = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let (take, found) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let content = if found { &buf[..take - 1] } else { buf };
            let room = cap.saturating_sub(bytes.len());
            bytes.extend_from_slice(&content[..content.len().min(room)]);
            len += content.len() as u64;
            self.input.consume(take);
            if found {
                ended = true;
                break;
            }
        }
        if !ended {
            self.eof = true;
            if len == 0 {
                return Ok(None);
            }
        }
        if bytes.last() == Some(&b'\r') && len <= cap as u64 {
            bytes.pop();
            len -= 1;
        }
        self.stats.lines += 1;
        Ok(Some(Line {
            number: self.stats.lines,
            bytes,
            overflow: (len > cap as u64).then_some(len),
        }))
    }

    fn next_line(&mut self) -> Option<Result<Line, String>> {
        if let Some(l) = self.pending.pop_front() {
            return Some(Ok(l));
        }
        self.physical_line()
            .map_err(|e| format!("unreadable after line {}: {e}", self.stats.lines))
            .transpose()
    }

    /// Splits one record's bytes into unquoted fields.
    fn split(&mut self, input: &[u8]) -> Vec<Vec<u8>> {
        use csv_core::ReadRecordResult as R;
        self.parser.reset();
        self.out.resize(input.len() + 1, 0);
        self.ends.resize(input.len() + 2, 0);
        let mut fields = Vec::new();
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        let mut eof = false;
        loop {
            let src = if eof { &[][..] } else { &input[nin..] };
            let (res, i, o, e) =
                self.parser
                    .read_record(src, &mut self.out[nout..], &mut self.ends[nend..]);
            nin += i;
            nout += o;
            nend += e;
            match res {
                R::InputEmpty if !eof => eof = true,
                R::Record => {
                    let mut start = 0;
                    for &end in &self.ends[..nend] {
                        fields.push(self.out[start..end].to_vec());
                        start = end;
                    }
                    return fields;
                }
                // Buffers are sized so they cannot fill; an empty input has no record.
                _ => return fields,
            }
        }
    }

    fn row(&mut self, number: u64, lines: u64, bytes: &[u8]) -> Row {
        self.stats.items += 1;
        self.stats.item_lines += lines;
        let fields = self.split(bytes);
        let cells = if fields.len() != self.headers.len() {
            Err(format!(
                "expected {} fields, found {} (truncated or broken line)",
                self.headers.len(),
                fields.len()
            ))
        } else {
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    decode(f, self.opts.encoding)
                        .map(|s| Some(s).filter(|s| !s.is_empty()))
                        .map_err(|e| format!("column {:?}: {e}", self.headers[i]))
                })
                .collect()
        };
        Row {
            line: number,
            cells,
            excerpt: excerpt(&lossy(bytes, self.opts.encoding)),
        }
    }

    fn malformed(&mut self, line: &Line, reason: String) -> Row {
        self.stats.items += 1;
        self.stats.item_lines += 1;
        Row {
            line: line.number,
            cells: Err(reason),
            excerpt: excerpt(&lossy(&line.bytes, self.opts.encoding)),
        }
    }

    fn unterminated(&self) -> String {
        if self.opts.multiline {
            format!(
                "unterminated quote: a quoted field opened on this line is not closed within \
                 {} lines (max_record_lines) or {} bytes (max_record_bytes)",
                self.opts.max_record_lines, self.opts.max_record_bytes
            )
        } else {
            "unterminated quote: a quoted field opened on this line is not closed on it \
             (set multiline = true if the source has line breaks inside quoted values)"
                .to_owned()
        }
    }

    fn next(&mut self) -> Option<Row> {
        loop {
            let line = match self.next_line()? {
                Ok(l) => l,
                Err(reason) => {
                    self.eof = true;
                    self.stats.items += 1;
                    return Some(Row {
                        line: self.stats.lines + 1,
                        cells: Err(reason),
                        excerpt: String::new(),
                    });
                }
            };
            if let Some(len) = line.overflow {
                let reason = format!(
                    "line of {len} bytes is over max_record_bytes ({})",
                    self.opts.max_record_bytes
                );
                return Some(self.malformed(&line, reason));
            }
            if line.bytes.is_empty() {
                self.stats.blank_lines += 1;
                continue;
            }
            let d = self.opts.delimiter;
            let mut state = scan(&line.bytes, d, Quote::FieldStart);
            if state != Quote::InQuotes {
                return Some(self.row(line.number, 1, &line.bytes));
            }
            if !self.opts.multiline {
                let reason = self.unterminated();
                return Some(self.malformed(&line, reason));
            }
            let mut group = vec![line];
            let mut size = group[0].bytes.len();
            while state == Quote::InQuotes && group.len() < self.opts.max_record_lines.max(1) {
                let next = match self.next_line() {
                    Some(Ok(l)) => l,
                    _ => break,
                };
                if next.overflow.is_some()
                    || size + 1 + next.bytes.len() > self.opts.max_record_bytes
                {
                    self.pending.push_back(next);
                    break;
                }
                size += 1 + next.bytes.len();
                state = scan(b"\n", d, state);
                state = scan(&next.bytes, d, state);
                group.push(next);
            }
            if state != Quote::InQuotes {
                let joined = group
                    .iter()
                    .map(|l| l.bytes.as_slice())
                    .collect::<Vec<_>>()
                    .join(&b'\n');
                let (number, lines) = (group[0].number, group.len() as u64);
                return Some(self.row(number, lines, &joined));
            }
            // Not closed: the opening line alone is broken; the lines after it are read again.
            let mut rest = group.into_iter();
            let first = rest.next()?;
            for l in rest.rev() {
                self.pending.push_front(l);
            }
            let reason = self.unterminated();
            return Some(self.malformed(&first, reason));
        }
    }
}

impl<R: BufRead + Send> RowStream for CsvRows<R> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Option<Row> {
        self.next()
    }

    fn stats(&self) -> &FileStats {
        &self.stats
    }
}

/// Reads a whole CSV text (tests and small inputs).
#[cfg(test)]
pub fn read_all(
    bytes: &[u8],
    opts: CsvOptions,
) -> Result<(Vec<String>, Vec<Row>, FileStats), String> {
    let mut rows = CsvRows::new(
        std::io::Cursor::new(bytes.to_vec()),
        opts,
        FileStats::default(),
    )?;
    let mut out = Vec::new();
    while let Some(r) = rows.next() {
        out.push(r);
    }
    Ok((rows.headers.clone(), out, rows.stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(encoding: Encoding) -> CsvOptions {
        CsvOptions {
            encoding,
            delimiter: b',',
            multiline: false,
            max_record_bytes: 1 << 20,
            max_record_lines: 20,
        }
    }

    fn keys(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .filter_map(|r| r.cells.as_ref().ok().and_then(|c| c[0].clone()))
            .collect()
    }

    #[test]
    fn reads_gb18030() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("编号,姓名\nJK1,张三\nJK2,李四\n");
        let (h, rows, _) = read_all(&bytes, opts(Encoding::Gb18030)).unwrap();
        assert_eq!(h, vec!["编号", "姓名"]);
        assert_eq!(
            rows[1].cells,
            Ok(vec![Some("JK2".into()), Some("李四".into())])
        );
    }

    #[test]
    fn utf8_bom_and_bad_rows() {
        let bytes =
            b"\xEF\xBB\xBFid,name\r\n1,\xE5\xBC\xA0\xE4\xB8\x89\r\n2,bad\xFFbyte\n3\n\n4,ok"
                .to_vec();
        let (h, rows, stats) = read_all(&bytes, opts(Encoding::Utf8)).unwrap();
        assert_eq!(h, vec!["id", "name"]);
        assert_eq!(
            rows[0].cells,
            Ok(vec![Some("1".into()), Some("张三".into())])
        );
        assert!(rows[1]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("invalid UTF-8 byte 0xFF"));
        assert!(rows[2]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("expected 2 fields, found 1"));
        assert_eq!(rows[3].cells, Ok(vec![Some("4".into()), Some("ok".into())]));
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2].line, 4);
        assert_eq!(rows[3].line, 6);
        assert_eq!(stats.lines, 6);
        assert_eq!(
            stats.lines,
            stats.header_lines + stats.blank_lines + stats.item_lines
        );
    }

    #[test]
    fn h3_a_stray_quote_in_the_last_field_never_swallows_the_lines_after_it() {
        let text = "id,name,phone,birth\n1,A,13800138001,1990-01-01\n2,B,13800138002,\"1990-01-02\n3,C,13800138003,1990-01-03\n4,D,13800138004,1990-01-04\n";
        let (_, rows, stats) = read_all(text.as_bytes(), opts(Encoding::Utf8)).unwrap();
        assert_eq!(keys(&rows), vec!["1", "3", "4"]);
        assert_eq!(rows.len(), 4);
        assert!(rows[1]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("unterminated quote"));
        assert_eq!(rows[1].line, 3);
        assert_eq!(stats.lines, 5);
        assert_eq!(stats.item_lines, 4);
    }

    #[test]
    fn h3_a_stray_quote_in_a_middle_field_is_one_line_not_the_rest() {
        let text = "id,name,phone\n1,\"A,1\n2,B,2\n3,C,3\n4,D,4\n5,E,5\n6,F,6\n";
        let (_, rows, _) = read_all(text.as_bytes(), opts(Encoding::Utf8)).unwrap();
        assert_eq!(keys(&rows), vec!["2", "3", "4", "5", "6"]);
        assert_eq!(rows.len(), 6);
    }

    #[test]
    fn multiline_values_when_allowed_and_bounded() {
        let text = "id,addr\n1,\"line one\nline two\"\n2,\"never closed\n3,x\n4,y\n";
        let o = CsvOptions {
            multiline: true,
            max_record_lines: 2,
            ..opts(Encoding::Utf8)
        };
        let (_, rows, stats) = read_all(text.as_bytes(), o).unwrap();
        assert_eq!(
            rows[0].cells,
            Ok(vec![Some("1".into()), Some("line one\nline two".into())])
        );
        assert!(rows[1]
            .cells
            .as_ref()
            .unwrap_err()
            .contains("unterminated quote"));
        assert_eq!(keys(&rows), vec!["1", "3", "4"]);
        assert_eq!(stats.lines, 6);
        assert_eq!(stats.item_lines, 5);
    }

    #[test]
    fn quoted_fields_and_escaped_quotes() {
        let text = "id,name\n1,\"Wang, \"\"Big\"\" Wei\"\n";
        let (_, rows, _) = read_all(text.as_bytes(), opts(Encoding::Utf8)).unwrap();
        assert_eq!(
            rows[0].cells,
            Ok(vec![Some("1".into()), Some("Wang, \"Big\" Wei".into())])
        );
    }

    #[test]
    fn a_line_over_the_cap_is_quarantined_without_being_held() {
        let mut text = b"id,name\n1,".to_vec();
        text.extend(std::iter::repeat_n(b'x', 5000));
        text.extend_from_slice(b"\n2,ok\n");
        let o = CsvOptions {
            max_record_bytes: 100,
            ..opts(Encoding::Utf8)
        };
        let (_, rows, stats) = read_all(&text, o).unwrap();
        assert!(rows[0].cells.as_ref().unwrap_err().contains("5002 bytes"));
        assert!(rows[0].excerpt.len() <= 130);
        assert_eq!(keys(&rows), vec!["2"]);
        assert_eq!(stats.lines, 3);
    }

    #[test]
    fn a_file_cut_inside_its_last_character_quarantines_only_the_last_row() {
        let mut b = "id,name\n1,张三\n2,李".as_bytes().to_vec();
        b.pop();
        let (_, rows, _) = read_all(&b, opts(Encoding::Utf8)).unwrap();
        assert_eq!(
            rows[0].cells,
            Ok(vec![Some("1".into()), Some("张三".into())])
        );
        assert!(rows[1].cells.is_err());
    }
}
