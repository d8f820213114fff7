#!/usr/bin/env python3
"""Writes the hostile-input corpus into a directory and prints what an independent reader counts
in it: physical lines per CSV file, <row> elements per workbook sheet.

    hostile_corpus.py DIR

DIR/csv/*.csv     CSV exports (header id,name,phone,birth): broken quoting, mixed and truncated
                  encodings, NUL bytes, a 10 MB field, CR/CRLF/BOM/blank lines, a large file.
DIR/xlsx/*.xlsx   workbooks (header id,name): cells at opposite corners, a shared-string bomb,
                  an inflation bomb, a file that is not a zip, a good one.
DIR/api/          what the HTTP test serves (written by the test itself).
"""
import json
import os
import sys
import zipfile

HEADER = b"id,name,phone,birth\n"


def csv_files(d):
    f = {}
    gb = lambda s: s.encode("gb18030")
    # Broken quoting: a stray quote opening a middle field and one opening the last field.
    f["01_quotes.csv"] = HEADER + b"".join([
        b"q1,A,13800138001,1990-01-01\n",
        b'q2,"B,13800138002,1990-01-02\n',
        b"q3,C,13800138003,1990-01-03\n",
        b'q4,D,13800138004,"1990-01-04\n',
        b"q5,E,13800138005,1990-01-05\n",
        b'q6,"F ""the"" 6th",13800138006,1990-01-06\n',
        b'q7,G,13800138007,"1990-01-07',  # unterminated at the end of the file
    ])
    # UTF-8 with one GB18030 line in the middle (mixed), and UTF-8 cut inside its last char.
    utf8_rows = "".join(f"m{i},张三{i}号,1380013{i:04d},1990-02-01\n" for i in range(10)).encode()
    f["02_mixed.csv"] = HEADER + utf8_rows + gb("mg,王五,13800138013,1990-02-03\n") + "mz,赵六,13800138014,1990-02-04\n".encode()
    f["03_truncated_utf8.csv"] = HEADER + "t1,张三,13800138021,1990-03-01\n".encode() + "t2,李".encode()[:-1]
    # GB18030 cut inside its last character.
    f["04_truncated_gb.csv"] = gb("id,name,phone,birth\ng1,张三,13800138031,1990-04-01\n") + gb("g2,李")[:-1]
    # NUL bytes in a key and in a value.
    f["05_nul.csv"] = HEADER + b"n1,Good,13800138041,1990-05-01\nn\x002,Key,13800138042,1990-05-02\nn3,Zh\x00ou,13800138043,1990-05-03\n"
    # A 10 MB field (over the 4 MiB max_record_bytes), then a good row.
    f["06_big_field.csv"] = HEADER + b"b1," + b"x" * (10 << 20) + b",13800138051,1990-06-01\nb2,ok,13800138052,1990-06-02\n"
    # Line ends: CRLF, a lone CR inside a value, a BOM, blank lines.
    f["07_line_ends.csv"] = b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + b"e1,A,13800138061,1990-07-01\r\n\r\n\ne2,B\rC,13800138062,1990-07-02\r\ne3,D,13800138063,1990-07-03"
    # Wrong field counts.
    f["08_fields.csv"] = HEADER + b"w1,A\nw2,B,13800138072,1990-08-02,extra\nw3,C,13800138073,1990-08-03\n"
    # A large file (about 20 MB): memory must not follow it.
    big = bytearray(HEADER)
    for i in range(200_000):
        big += b"L%d,name%d,139%08d,1980-01-01\n" % (i, i, i)
    f["09_large.csv"] = bytes(big)
    counts = {}
    for name, data in f.items():
        with open(os.path.join(d, name), "wb") as out:
            out.write(data)
        # Physical lines: line ends, plus a last line without one.
        counts[name] = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return counts


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
P = "http://schemas.openxmlformats.org/package/2006/"
O = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
HEAD_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'


def workbook(path, sheet_rows, shared=None, filler=None):
    """A one-sheet workbook; `filler` = (count, cell xml) streams a large row."""
    z = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    z.writestr("[Content_Types].xml", f'<Types xmlns="{P}content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
    z.writestr("_rels/.rels", f'<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("xl/workbook.xml", f'<workbook {NS} {R}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    if shared:
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)
        z.writestr("xl/sharedStrings.xml", f'<sst {NS} count="{len(shared)}" uniqueCount="{len(shared)}">{items}</sst>')
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as w:
        w.write(f"<worksheet {NS}><sheetData>{HEAD_ROW}{''.join(sheet_rows)}".encode())
        if filler:
            n, cell = filler
            chunk = (cell * 10_000).encode()
            w.write(b'<row r="3">')
            for _ in range(n // 10_000):
                w.write(chunk)
            w.write(b"</row>")
        w.write(b"</sheetData></worksheet>")
    z.close()
    return 1 + len(sheet_rows) + (1 if filler else 0)


def row(r, key, name):
    return f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{key}</t></is></c><c r="B{r}" t="inlineStr"><is><t>{name}</t></is></c></row>'


def xlsx_files(d):
    counts = {}
    counts["01_corners.xlsx"] = workbook(os.path.join(d, "01_corners.xlsx"), [row(2, "x1", "张三"), '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'])
    big = "名" * 2_000_000
    rows = [f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>s{r}</t></is></c><c r="B{r}" t="s"><v>0</v></c></row>' for r in range(2, 302)]
    counts["02_shared_bomb.xlsx"] = workbook(os.path.join(d, "02_shared_bomb.xlsx"), rows + [row(400, "s400", "ok")], shared=[big])
    # About 1 GB of sheet XML inflated from a few MB: quarantined whole before it is inflated.
    workbook(os.path.join(d, "03_inflation_bomb.xlsx"), [], filler=(48_000_000, '<c r="C3"><v>1</v></c>'))
    counts["03_inflation_bomb.xlsx"] = None  # rejected whole: no rows read
    with open(os.path.join(d, "04_not_a_zip.xlsx"), "wb") as out:
        out.write(b"PK\x03\x04 this is not a workbook")
    counts["04_not_a_zip.xlsx"] = None
    counts["05_good.xlsx"] = workbook(os.path.join(d, "05_good.xlsx"), [row(2, "g1", "王五"), row(3, "g2", "赵六")])
    return counts


def main():
    d = sys.argv[1]
    os.makedirs(os.path.join(d, "csv"), exist_ok=True)
    os.makedirs(os.path.join(d, "xlsx"), exist_ok=True)
    print(json.dumps({"csv": csv_files(os.path.join(d, "csv")), "xlsx": xlsx_files(os.path.join(d, "xlsx"))}))


if __name__ == "__main__":
    main()
