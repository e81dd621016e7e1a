//! Charts drawn on the server as SVG, so the report needs no script (the CSP has none) and
//! prints. Each chart is an `img` with a title and a description that says its numbers; the
//! page also gives them as a table.

use std::fmt::Write;

const W: f64 = 600.0;
const H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 30.0;

/// Text for SVG: the five characters XML gives meaning to, escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A line of percentages (0–100) over labelled points, oldest first.
pub fn percent_line(id: &str, title: &str, points: &[(String, f64)]) -> String {
    let mut svg = String::new();
    let desc = match (points.first(), points.last()) {
        (Some(a), Some(b)) => format!("From {:.1}% on {} to {:.1}% on {}.", a.1, a.0, b.1, b.0),
        _ => "No data.".to_owned(),
    };
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(&desc)
    );
    let plot_w = W - PAD_L - PAD_R;
    let plot_h = H - PAD_T - PAD_B;
    for pct in [0.0, 50.0, 100.0] {
        let y = PAD_T + plot_h * (1.0 - pct / 100.0);
        let _ = write!(
            svg,
            r#"<line x1="{PAD_L}" y1="{y:.1}" x2="{}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" text-anchor="end">{pct}%</text>"#,
            W - PAD_R,
            PAD_L - 6.0,
            y + 4.0
        );
    }
    let n = points.len();
    let x_of = |i: usize| {
        if n <= 1 {
            PAD_L + plot_w / 2.0
        } else {
            PAD_L + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let y = PAD_T + plot_h * (1.0 - v.clamp(0.0, 100.0) / 100.0);
            format!("{:.1},{y:.1}", x_of(i))
        })
        .collect();
    if !path.is_empty() {
        let _ = write!(
            svg,
            r#"<polyline points="{}" class="line"/>"#,
            path.join(" ")
        );
    }
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        let y = H - 8.0;
        let _ = write!(
            svg,
            r#"<text x="{PAD_L}" y="{y}">{}</text><text x="{}" y="{y}" text-anchor="end">{}</text>"#,
            esc(&a.0),
            W - PAD_R,
            esc(&b.0)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per labelled count, scaled to `total` (at least 1).
pub fn bars(id: &str, title: &str, items: &[(String, i64)], total: i64) -> String {
    let total = total.max(1) as f64;
    let row_h = 28.0;
    let h = row_h * items.len().max(1) as f64 + 8.0;
    let label_w = 190.0;
    let bar_w = W - label_w - 70.0;
    let desc: Vec<String> = items.iter().map(|(l, n)| format!("{l}: {n}")).collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(&desc.join("; "))
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = bar_w * (*n as f64 / total).clamp(0.0, 1.0);
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.1}">{}</text><rect x="{label_w}" y="{:.1}" width="{w:.1}" height="18" class="bar"/><text x="{:.1}" y="{:.1}">{n}</text>"#,
            y + 14.0,
            esc(label),
            y + 1.0,
            label_w + w + 6.0,
            y + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_first_and_last_values_and_stays_in_the_box() {
        let pts = vec![("1 Nov".to_owned(), 0.0), ("30 Nov".to_owned(), 150.0)];
        let svg = percent_line("e", "Enrolled", &pts);
        assert!(svg.contains("From 0.0% on 1 Nov to 150.0% on 30 Nov."));
        // 150 % is drawn at the top, not above the chart.
        assert!(svg.contains(&format!("{:.1},{:.1}", W - PAD_R, PAD_T)));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars("m", "By <method>", &[("a&b".into(), 2)], 4);
        assert!(svg.contains("By &lt;method&gt;"));
        assert!(svg.contains(">a&amp;b<"));
        assert!(!svg.contains("<method>"));
    }

    #[test]
    fn bars_scale_to_the_total_and_survive_an_empty_tenant() {
        let svg = bars("m", "t", &[("x".into(), 2)], 4);
        assert!(svg.contains(r#"width="170.0""#), "{svg}");
        let empty = bars("m", "t", &[("x".into(), 0)], 0);
        assert!(empty.contains(r#"width="0.0""#));
        assert_eq!(percent_line("e", "t", &[]).matches("polyline").count(), 0);
    }
}
