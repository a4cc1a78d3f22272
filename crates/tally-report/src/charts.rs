//! Inline SVG charts for the HTML reports. Floats are used for geometry only; every label
//! comes from the exact amounts, and every text is XML-escaped (names come from bills).

use std::fmt::Write;

use tally_ledger::Money;

use crate::format::money;
use crate::report::{Headline, ProjectReport, TrendMonth};

/// Category colours (Okabe–Ito, colour-blind safe), in report order.
pub const CATEGORY_COLOURS: [&str; 5] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"];
const SERIES_COLOURS: [&str; 8] =
    ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999", "#000000"];

/// XML/HTML escaping of text content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn f(m: Money) -> f64 {
    m.round_dp(2).to_string_min_dp(2).parse::<f64>().unwrap_or(0.0)
}

fn open(w: u32, h: u32, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"{l}\" font-family=\"system-ui, sans-serif\" font-size=\"12\"><title>{l}</title>",
        l = escape(label)
    )
}

/// Stacked horizontal bars: each project's TCO by category.
pub fn stacked_categories(projects: &[ProjectReport], currency: &str) -> String {
    let row = 34u32;
    let (left, right, top) = (170.0, 110.0, 10.0);
    let width = 760u32;
    let height = top as u32 + row * projects.len() as u32 + 40;
    let plot = f64::from(width) - left - right;
    let max = projects.iter().map(|p| f(p.tco)).fold(0.0_f64, f64::max).max(1.0);
    let mut s = open(width, height, "TCO by category per project");
    for (i, p) in projects.iter().enumerate() {
        let y = top + f64::from(row * i as u32);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 17.0,
            escape(&p.project)
        );
        let mut x = left;
        for (c, cat) in p.categories.iter().enumerate() {
            let w = (f(cat.amount).max(0.0) / max) * plot;
            if w > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"22\" fill=\"{}\"><title>{}: {}</title></rect>",
                    y + 2.0,
                    CATEGORY_COLOURS[c % 5],
                    escape(cat.label),
                    escape(&money(cat.amount, currency))
                );
            }
            x += w;
        }
        let _ =
            write!(s, "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>", x + 6.0, y + 17.0, escape(&money(p.tco, currency)));
    }
    let ly = f64::from(height) - 18.0;
    let mut lx = left;
    for (c, label) in ["Model API", "Compute", "Infrastructure", "People", "Security & compliance"].iter().enumerate() {
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{ly:.1}\">{}</text>",
            ly - 10.0,
            CATEGORY_COLOURS[c],
            lx + 16.0,
            escape(label)
        );
        lx += 16.0 + 7.0 * label.len() as f64 + 14.0;
    }
    s.push_str("</svg>");
    s
}

/// Lines: each project's TCO per month.
pub fn trend(months: &[TrendMonth], currency: &str) -> String {
    let (width, height) = (760u32, 280u32);
    let (left, right, top, bottom) = (90.0, 170.0, 14.0, 40.0);
    let plot_w = f64::from(width) - left - right;
    let plot_h = f64::from(height) - top - bottom;
    let names: Vec<&String> = months.last().map(|m| m.projects.keys().collect()).unwrap_or_default();
    let max = months.iter().flat_map(|m| m.projects.values()).map(|v| f(*v)).fold(0.0_f64, f64::max).max(1.0);
    let n = months.len().max(1);
    let x_of = |i: usize| if n == 1 { left + plot_w / 2.0 } else { left + plot_w * i as f64 / (n - 1) as f64 };
    let y_of = |v: f64| top + plot_h - (v.max(0.0) / max) * plot_h;
    let mut s = open(width, height, "Monthly TCO per project");
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = y_of(v);
        let label = money(Money::parse(&format!("{v:.0}")).unwrap_or_default(), currency);
        let _ = write!(
            s,
            "<line x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            left + plot_w,
            left - 6.0,
            y + 4.0,
            escape(label.trim_end_matches(".00"))
        );
    }
    for (i, m) in months.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            x_of(i),
            f64::from(height) - bottom + 18.0,
            m.month
        );
    }
    for (j, name) in names.iter().enumerate() {
        let colour = SERIES_COLOURS[j % SERIES_COLOURS.len()];
        let pts: Vec<String> = months
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{:.1},{:.1}", x_of(i), y_of(f(m.projects.get(*name).copied().unwrap_or_default()))))
            .collect();
        let _ =
            write!(s, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>", pts.join(" "));
        for (i, m) in months.iter().enumerate() {
            let v = m.projects.get(*name).copied().unwrap_or_default();
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{} {}: {}</title></circle>",
                x_of(i),
                y_of(f(v)),
                escape(name),
                m.month,
                escape(&money(v, currency))
            );
        }
        let ly = top + 16.0 * j as f64 + 6.0;
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left + plot_w + 14.0,
            ly,
            left + plot_w + 30.0,
            ly + 5.0,
            escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Waterfall from model API spend to full TCO: the API bill, each other category on top, the
/// total.
pub fn waterfall(h: &Headline, currency: &str) -> String {
    let (width, height) = (760u32, 300u32);
    let (left, top, bottom) = (20.0, 24.0, 56.0);
    let plot_h = f64::from(height) - top - bottom;
    let steps = h.categories.len() + 1;
    let slot = (f64::from(width) - 2.0 * left) / steps as f64;
    let bar = slot * 0.62;
    let mut running = 0.0_f64;
    let mut tops = Vec::new();
    for c in &h.categories {
        running += f(c.amount);
        tops.push(running);
    }
    let max = tops.iter().copied().chain([f(h.tco), 1.0]).fold(0.0_f64, f64::max);
    let y_of = |v: f64| top + plot_h - (v.max(0.0) / max) * plot_h;
    let mut s = open(width, height, "From model API spend to full TCO");
    let mut base = 0.0_f64;
    for (i, c) in h.categories.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let v = f(c.amount);
        let (y0, y1) = (y_of(base), y_of(base + v));
        let (y, hgt) = if y1 < y0 { (y1, y0 - y1) } else { (y0, y1 - y0) };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
            hgt.max(0.5),
            CATEGORY_COLOURS[i % 5],
            escape(c.label),
            escape(&money(c.amount, currency))
        );
        let sign = if i == 0 { "" } else { "+" };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{sign}{}</text>",
            x + bar / 2.0,
            y - 5.0,
            escape(&money(c.amount, currency))
        );
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            x + bar / 2.0,
            f64::from(height) - bottom + 18.0,
            escape(c.label)
        );
        if i + 1 < steps {
            let _ = write!(
                s,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y1:.1}\" y2=\"{y1:.1}\" stroke=\"#888\" stroke-dasharray=\"3,3\"/>",
                x + bar,
                x + slot
            );
        }
        base += v;
    }
    let x = left + slot * (steps - 1) as f64 + (slot - bar) / 2.0;
    let y = y_of(f(h.tco));
    let _ = write!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"#333\"><title>TCO: {}</title></rect>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">TCO</text>",
        (y_of(0.0) - y).max(0.5),
        escape(&money(h.tco, currency)),
        x + bar / 2.0,
        y - 5.0,
        escape(&money(h.tco, currency)),
        x + bar / 2.0,
        f64::from(height) - bottom + 18.0
    );
    if let Some(m) = &h.hidden_cost_multiplier {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}× the model API spend</text>",
            f64::from(width) / 2.0,
            f64::from(height) - 12.0,
            escape(m)
        );
    }
    s.push_str("</svg>");
    s
}

/// Grouped bars: value vs TCO per project with value metrics.
pub fn value_vs_tco(projects: &[ProjectReport], currency: &str) -> String {
    let with: Vec<&ProjectReport> = projects.iter().filter(|p| p.roi.is_some()).collect();
    let (width, height) = (760u32, 260u32);
    let (left, top, bottom) = (20.0, 24.0, 46.0);
    let plot_h = f64::from(height) - top - bottom;
    let slot = (f64::from(width) - 2.0 * left) / with.len().max(1) as f64;
    let bar = (slot * 0.3).min(90.0);
    let max =
        with.iter().flat_map(|p| [f(p.tco), p.roi.as_ref().map(|r| f(r.value)).unwrap_or(0.0)]).fold(1.0_f64, f64::max);
    let mut s = open(width, height, "Value vs TCO per project");
    for (i, p) in with.iter().enumerate() {
        let cx = left + slot * i as f64 + slot / 2.0;
        let value = p.roi.as_ref().map(|r| r.value).unwrap_or_default();
        for (k, (label, v, colour)) in [("TCO", p.tco, "#333333"), ("Value", value, "#009E73")].iter().enumerate() {
            let hgt = (f(*v).max(0.0) / max) * plot_h;
            let x = cx - bar - 2.0 + (bar + 4.0) * k as f64;
            let y = top + plot_h - hgt;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{hgt:.1}\" fill=\"{colour}\"><title>{} {label}: {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                escape(&p.project),
                escape(&money(*v, currency)),
                x + bar / 2.0,
                y - 4.0,
                escape(&money(*v, currency))
            );
        }
        let _ = write!(
            s,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            f64::from(height) - bottom + 18.0,
            escape(&p.project)
        );
    }
    let _ = write!(
        s,
        "<rect x=\"{left:.1}\" y=\"4\" width=\"12\" height=\"12\" fill=\"#333333\"/><text x=\"{:.1}\" y=\"14\">TCO</text>\
         <rect x=\"{:.1}\" y=\"4\" width=\"12\" height=\"12\" fill=\"#009E73\"/><text x=\"{:.1}\" y=\"14\">Value</text>",
        left + 16.0,
        left + 60.0,
        left + 76.0
    );
    s.push_str("</svg>");
    s
}
