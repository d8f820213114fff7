//! The report as one HTML page: inline CSS and SVG, no script, labels in Chinese and English.

use std::fmt::Write;

use super::{KindFigures, Report, TrendPoint};
use crate::admin::scorecard::SourceCard;

/// Text safe inside HTML and SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn kind_label(entity: &str) -> &'static str {
    match entity {
        "person" => "人 People",
        "organization" => "组织 Organisations",
        _ => "其他 Other",
    }
}

/// A colour from white-blue (0) to deep blue (1), the heatmap's scale.
fn blue(share: f64) -> String {
    let t = share.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(238.0, 8.0),
        mix(244.0, 81.0),
        mix(251.0, 156.0)
    )
}

/// A colour for a quality share: red (0) through amber to green (1).
fn quality(share: f64) -> String {
    let t = share.clamp(0.0, 1.0);
    let (r, g) = if t < 0.9 {
        (220, (60.0 + 150.0 * t / 0.9) as u8)
    } else {
        ((220.0 - 180.0 * (t - 0.9) / 0.1) as u8, 190)
    };
    format!("#{r:02x}{g:02x}60")
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Zen Hei',sans-serif;margin:24px 40px;color:#1d2733;background:#fff}\
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #08519c;padding-bottom:4px;margin-top:36px}\
h3{font-size:16px;margin:18px 0 6px}p.note{color:#5a6570;font-size:13px;margin:4px 0 12px}\
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}th,td{border:1px solid #d5dbe1;padding:3px 8px;text-align:right}\
th{background:#f1f4f7}td.l,th.l{text-align:left}svg text{font-size:12px;fill:#1d2733}";

/// Horizontal bars: records and golden records per source.
fn bars(k: &KindFigures) -> String {
    let max = k
        .sources
        .iter()
        .map(|s| s.records)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let row = 34.0;
    let h = 30.0 + row * k.sources.len() as f64;
    let mut svg = format!(
        "<svg id=\"bars-{}\" width=\"760\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">",
        k.entity
    );
    let _ = write!(
        svg,
        "<rect x=\"180\" y=\"4\" width=\"12\" height=\"10\" fill=\"#9ecae1\"/><text x=\"196\" y=\"13\">记录 records</text>\
         <rect x=\"320\" y=\"4\" width=\"12\" height=\"10\" fill=\"#08519c\"/><text x=\"336\" y=\"13\">黄金记录 golden records</text>"
    );
    for (i, s) in k.sources.iter().enumerate() {
        let y = 24.0 + row * i as f64;
        let w = |n: u64| 480.0 * n as f64 / max;
        let label = match &s.department {
            Some(d) if d != &s.source => format!("{} ({d})", s.source),
            _ => s.source.clone(),
        };
        let _ = write!(
            svg,
            "<text x=\"172\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"180\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"#9ecae1\"/>\
             <rect x=\"180\" y=\"{}\" width=\"{:.1}\" height=\"12\" fill=\"#08519c\"/>\
             <text x=\"{:.1}\" y=\"{}\">{} / {}</text>",
            y + 16.0,
            esc(&label),
            w(s.records),
            y + 13.0,
            w(s.golden_records),
            186.0 + w(s.records),
            y + 11.0,
            s.records,
            s.golden_records
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The overlap heatmap: each cell the golden records two sources share, coloured by their
/// share of the smaller source's golden records.
fn heatmap(k: &KindFigures) -> String {
    let n = k.sources.len();
    let cell = 64.0;
    let left = 150.0;
    let top = 80.0;
    let size = (left + cell * n as f64 + 20.0, top + cell * n as f64 + 20.0);
    let mut svg = format!(
        "<svg id=\"heatmap-{}\" class=\"heatmap\" width=\"{}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">",
        k.entity, size.0, size.1
    );
    for (j, s) in k.sources.iter().enumerate() {
        let x = left + cell * j as f64 + cell / 2.0;
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{}\" transform=\"rotate(-40 {x} {})\">{}</text>",
            top - 8.0,
            top - 8.0,
            esc(&s.source)
        );
    }
    for (i, a) in k.sources.iter().enumerate() {
        let y = top + cell * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + cell / 2.0 + 4.0,
            esc(&a.source)
        );
        for (j, b) in k.sources.iter().enumerate() {
            let shared = k.overlap[i][j];
            let smaller = a.golden_records.min(b.golden_records).max(1);
            let share = shared as f64 / smaller as f64;
            let x = left + cell * j as f64;
            let ink = if share > 0.55 { "#ffffff" } else { "#1d2733" };
            let _ = write!(
                svg,
                "<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"2\"><title>{} ∩ {}: {shared}</title></rect>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:{ink}\">{shared}</text>",
                blue(share),
                esc(&a.source),
                esc(&b.source),
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn scorecard(c: &SourceCard) -> String {
    let mut out = format!(
        "<h3>{} · {}</h3><p class=\"note\">{} 条记录 records · {} 黄金记录 golden records · {} 条源内重复 duplicates inside the source · 最近变更 last change {}</p>\
         <table><tr><th class=\"l\">字段 field</th><th>完整性 completeness</th><th>有效性 validity</th><th>与黄金值一致 agreement</th><th>值 values</th></tr>",
        esc(&c.source),
        c.department.as_deref().map_or("—".to_owned(), esc),
        c.records,
        c.golden_records,
        c.duplicates,
        match (&c.last_change_at, c.freshness_hours) {
            (Some(at), Some(h)) => format!("{} ({h:.1} h)", esc(at)),
            _ => "—".to_owned(),
        }
    );
    for f in &c.fields {
        let _ = write!(
            out,
            "<tr><td class=\"l\">{}</td><td style=\"background:{}\">{}</td><td style=\"background:{}\">{}</td><td style=\"background:{}\">{}</td><td>{}</td></tr>",
            esc(&f.field),
            quality(f.completeness),
            pct(f.completeness),
            quality(f.validity),
            pct(f.validity),
            quality(f.agreement),
            pct(f.agreement),
            f.present
        );
    }
    out.push_str("</table>");
    out
}

fn conflicts(r: &Report) -> String {
    let mut fields: Vec<&String> = r.conflicts.values().flat_map(|m| m.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut out = String::from("<table id=\"conflict-table\"><tr><th class=\"l\">来源 source</th>");
    for f in &fields {
        let _ = write!(out, "<th>{}</th>", esc(f));
    }
    out.push_str("</tr>");
    let max = r
        .conflicts
        .values()
        .flat_map(|m| m.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for (source, by_field) in &r.conflicts {
        let _ = write!(out, "<tr><td class=\"l\">{}</td>", esc(source));
        for f in &fields {
            match by_field.get(*f) {
                Some(n) => {
                    let _ = write!(
                        out,
                        "<td style=\"background:{}\">{n}</td>",
                        blue(*n as f64 / max * 0.6)
                    );
                }
                None => out.push_str("<td>—</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

fn backlogs(r: &Report) -> String {
    let s = &r.scorecards;
    let mut out =
        String::from("<table><tr><th class=\"l\">待审核 review queue</th><th>open</th></tr>");
    for (k, n) in &s.review_open {
        let _ = write!(
            out,
            "<tr><td class=\"l\">{}</td><td>{n}</td></tr>",
            kind_label(k)
        );
    }
    out.push_str("</table><table><tr><th class=\"l\">来源 source</th><th>隔离 quarantine</th><th>待纠正 open corrections</th></tr>");
    for c in &s.sources {
        let q = s.quarantine_open.get(&c.source).copied().unwrap_or(0);
        let k: u64 = s
            .corrections_open
            .get(&c.source)
            .map_or(0, |m| m.values().sum());
        let _ = write!(
            out,
            "<tr><td class=\"l\">{}</td><td>{q}</td><td>{k}</td></tr>",
            esc(&c.source)
        );
    }
    out.push_str("</table>");
    out
}

/// Lines over the snapshots: golden records per kind (left scale), open review, quarantine and
/// corrections (right scale, same units: items).
fn trend(points: &[TrendPoint]) -> String {
    let (w, h, left, top) = (900.0, 260.0, 60.0, 20.0);
    let plot = (w - left - 240.0, h - top - 40.0);
    let n = points.len().max(1);
    let x = |i: usize| {
        left + if n == 1 {
            plot.0 / 2.0
        } else {
            plot.0 * i as f64 / (n - 1) as f64
        }
    };
    let kinds: Vec<&String> = points
        .last()
        .map(|p| p.golden.keys().collect())
        .unwrap_or_default();
    let series: Vec<(String, &str, Vec<f64>)> = kinds
        .iter()
        .zip(["#08519c", "#3182bd", "#6baed6"])
        .map(|(k, colour)| {
            (
                format!("{} golden", kind_label(k)),
                colour,
                points
                    .iter()
                    .map(|p| p.golden.get(*k).copied().unwrap_or(0) as f64)
                    .collect(),
            )
        })
        .chain([
            (
                "待审核 review".to_owned(),
                "#e6550d",
                points.iter().map(|p| p.review_open as f64).collect(),
            ),
            (
                "隔离 quarantine".to_owned(),
                "#a63603",
                points.iter().map(|p| p.quarantine_open as f64).collect(),
            ),
            (
                "待纠正 corrections".to_owned(),
                "#756bb1",
                points.iter().map(|p| p.corrections_open as f64).collect(),
            ),
        ])
        .collect();
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .fold(1.0f64, f64::max);
    let y = |v: f64| top + plot.1 - plot.1 * v / max;
    let mut svg = format!(
        "<svg id=\"trend-chart\" width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8a96a3\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#8a96a3\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max:.0}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        top + plot.1,
        left + plot.0,
        top + plot.1,
        top + plot.1,
        left - 6.0,
        top + 4.0,
        left - 6.0,
        top + plot.1 + 4.0
    );
    for (si, (label, colour, values)) in series.iter().enumerate() {
        let path: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                x(i),
                y(*v)
            );
        }
        let ly = top + 14.0 * si as f64;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            left + plot.0 + 12.0,
            ly,
            left + plot.0 + 26.0,
            ly + 9.0,
            esc(label)
        );
    }
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            top + plot.1 + 16.0,
            esc(p.taken_at.get(..16).unwrap_or(&p.taken_at))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn page(r: &Report) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>信息孤岛报告 The islands report</title><style>{STYLE}</style></head><body>\
         <h1>信息孤岛报告 · The islands report</h1><p class=\"note\">Tombolo · {} · {} 次快照 snapshots</p>",
        esc(&r.generated_at),
        r.trend.len()
    );
    out.push_str("<section id=\"departments\"><h2>各部门的人与组织 · People and organisations per department</h2>");
    for k in &r.kinds {
        let _ = write!(
            out,
            "<h3>{} · {} 黄金记录 golden records</h3>{}",
            kind_label(k.entity.as_str()),
            k.golden_records,
            bars(k)
        );
    }
    out.push_str("</section><section id=\"overlap\"><h2>重复录入 · Entered twice: golden records two sources share</h2>\
        <p class=\"note\">每格：两个来源共有的黄金记录数；颜色：占较小来源的比例。Each cell: golden records both sources hold; colour: their share of the smaller source's.</p>");
    for k in &r.kinds {
        let _ = write!(
            out,
            "<h3>{}</h3>{}",
            kind_label(k.entity.as_str()),
            heatmap(k)
        );
    }
    out.push_str("</section><section id=\"scorecards\"><h2>质量记分卡 · Quality scorecards</h2>");
    for c in &r.scorecards.sources {
        out.push_str(&scorecard(c));
    }
    let _ = write!(
        out,
        "</section><section id=\"conflicts\"><h2>字段冲突 · Conflicts per field and source</h2>\
         <p class=\"note\">与黄金值不一致的值（仅更不完整的地址不算）。Values that disagree with their golden value (a less complete address does not count).</p>{}</section>\
         <section id=\"backlogs\"><h2>积压 · Review, quarantine and correction backlogs</h2>{}</section>\
         <section id=\"trend\"><h2>趋势 · Trend over the snapshots</h2>{}</section></body></html>",
        conflicts(r),
        backlogs(r),
        trend(&r.trend)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_colours_span_their_scales() {
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
        assert_eq!(blue(0.0), "#eef4fb");
        assert_eq!(blue(1.0), "#08519c");
        assert_ne!(quality(0.2), quality(0.99));
    }
}
