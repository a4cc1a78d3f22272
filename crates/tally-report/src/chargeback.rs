//! Chargeback journals: one line per business unit, project and TCO category, in the
//! currency's minor unit, adding up exactly to the allocated total rounded to the minor unit.
//!
//! How the journal ties out: each line's exact amount (18 decimals, from the allocation) is
//! floored to the minor unit; the minor units lost to flooring, `round(allocated_total) − Σ
//! floors`, are handed out one each to the lines with the largest remainders (ties: the earlier
//! line in journal order). So Σ lines = `allocated_total` rounded half away from zero to the
//! minor unit, exactly, and every line is within one minor unit of its exact amount.
//! Unallocated cost is not charged to anyone and is not in the journal.

use std::collections::BTreeMap;

use tally_allocate::Project;
use tally_ledger::layout::BillingMonth;
use tally_ledger::{minor_digits, Money, TcoCategory, MONEY_SCALE};

use crate::{format, ReportError, Summary};

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JournalLine {
    /// Billing month.
    pub billing_month: BillingMonth,
    /// Business unit charged.
    pub business_unit: String,
    /// Its cost centre (empty when the project has none).
    pub cost_center: String,
    /// GL account (empty when the project has none).
    pub gl_account: String,
    /// Project.
    pub project: String,
    /// TCO category.
    pub category: &'static str,
    /// Currency.
    pub currency: String,
    /// The amount charged, in whole minor units.
    pub amount: Money,
    /// The exact allocated amount it rounds.
    pub exact: Money,
}

/// The month's journal.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Journal {
    /// Lines, sorted by business unit, project, then category in report order.
    pub lines: Vec<JournalLine>,
    /// Σ lines = `allocated_total` rounded to the minor unit.
    pub total: Money,
    /// The exact allocated total of the summary.
    pub allocated_total: Money,
    /// `allocated_total − total`: the sub-minor-unit digits the journal does not carry.
    pub rounding: Money,
}

/// Rounds `exact` amounts to whole minor units (`digits`) so that they add up to their exact
/// sum rounded half away from zero, by the largest-remainder method (ties to the earlier).
pub fn round_largest_remainder(exact: &[Money], digits: u32) -> Vec<Money> {
    let unit = 10i128.pow(MONEY_SCALE as u32 - digits.min(MONEY_SCALE as u32));
    let total: Money = exact.iter().copied().sum();
    let target = total.round_dp(digits).raw() / unit;
    let mut floors: Vec<i128> = exact.iter().map(|x| x.raw().div_euclid(unit)).collect();
    let mut order: Vec<(i128, usize)> = exact.iter().enumerate().map(|(i, x)| (x.raw().rem_euclid(unit), i)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = target - floors.iter().sum::<i128>();
    // 0 ≤ left ≤ the number of lines with a remainder; the guard keeps it total anyway.
    for (r, i) in &order {
        if left <= 0 || *r == 0 {
            break;
        }
        floors[*i] += 1;
        left -= 1;
    }
    floors.into_iter().map(|f| Money::from_raw(f * unit)).collect()
}

/// Builds the journal from the summary's project lines (allocated cost, by category).
pub fn journal(summary: &Summary, projects: &[Project]) -> Journal {
    let mut raw: Vec<JournalLine> = Vec::new();
    for p in &summary.projects {
        let decl = projects.iter().find(|x| x.name == p.project);
        for cat in TcoCategory::ALL {
            let exact = p.by_category.get(cat.as_str()).copied().unwrap_or_default();
            if exact == Money::ZERO {
                continue;
            }
            raw.push(JournalLine {
                billing_month: summary.billing_month,
                business_unit: p.business_unit.clone(),
                cost_center: decl.and_then(|d| d.cost_center.clone()).unwrap_or_default(),
                gl_account: decl.and_then(|d| d.gl_account.clone()).unwrap_or_default(),
                project: p.project.clone(),
                category: cat.as_str(),
                currency: summary.currency.clone(),
                amount: Money::ZERO,
                exact,
            });
        }
    }
    let rank = |c: &str| TcoCategory::ALL.iter().position(|x| x.as_str() == c).unwrap_or(usize::MAX);
    raw.sort_by(|a, b| {
        (a.business_unit.as_str(), a.project.as_str(), rank(a.category)).cmp(&(
            b.business_unit.as_str(),
            b.project.as_str(),
            rank(b.category),
        ))
    });
    let rounded =
        round_largest_remainder(&raw.iter().map(|l| l.exact).collect::<Vec<_>>(), minor_digits(&summary.currency));
    for (l, r) in raw.iter_mut().zip(rounded) {
        l.amount = r;
    }
    let total: Money = raw.iter().map(|l| l.amount).sum();
    Journal { lines: raw, total, allocated_total: summary.allocated_total, rounding: summary.allocated_total - total }
}

/// A CSV field: quoted when needed; text that a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first) is prefixed with `'`.
fn csv_text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `chargeback.csv`. With `showback`, the cost centre and GL account columns are left out.
pub fn to_csv(j: &Journal, showback: bool) -> String {
    let mut out = String::new();
    out.push_str(if showback {
        "billing_month,business_unit,project,category,currency,amount\n"
    } else {
        "billing_month,business_unit,cost_center,gl_account,project,category,currency,amount\n"
    });
    for l in &j.lines {
        let mut fields = vec![l.billing_month.to_string(), csv_text(&l.business_unit)];
        if !showback {
            fields.push(csv_text(&l.cost_center));
            fields.push(csv_text(&l.gl_account));
        }
        fields.extend([
            csv_text(&l.project),
            l.category.to_string(),
            csv_text(&l.currency),
            format::plain(l.amount, &l.currency),
        ]);
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Per business unit: its lines and their total.
pub fn by_business_unit(j: &Journal) -> BTreeMap<String, (Vec<&JournalLine>, Money)> {
    let mut out: BTreeMap<String, (Vec<&JournalLine>, Money)> = BTreeMap::new();
    for l in &j.lines {
        let e = out.entry(l.business_unit.clone()).or_insert_with(|| (Vec::new(), Money::ZERO));
        e.0.push(l);
        e.1 += l.amount;
    }
    out
}

/// A valid, unique worksheet name (≤ 31 characters, none of `[]:*?/\`).
fn sheet_name(name: &str, taken: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') { '-' } else { c })
        .collect::<String>()
        .trim_matches('\'')
        .chars()
        .take(31)
        .collect();
    let base = if clean.trim().is_empty() || clean.eq_ignore_ascii_case("history") { "BU".to_string() } else { clean };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
        let suffix = format!(" ({n})");
        candidate = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// The amount as the number a spreadsheet stores: parsed from its exact decimal text (display
/// and export only; the journal's sums are computed exactly before this).
fn cell_number(m: Money, currency: &str) -> f64 {
    format::plain(m, currency).parse::<f64>().unwrap_or(0.0)
}

/// `chargeback.xlsx`: a summary sheet (one row per business unit, then the total) and one sheet
/// per business unit with its journal lines. Deterministic: the document date is the first day
/// of the billing month.
pub fn to_xlsx(j: &Journal, currency: &str, month: BillingMonth, showback: bool) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| ReportError::Xlsx(e.to_string());
    let digits = minor_digits(currency);
    let num = if digits == 0 {
        "#,##0".to_string()
    } else {
        format!("#,##0.{};-#,##0.{}", "0".repeat(digits as usize), "0".repeat(digits as usize))
    };
    let money_fmt = Format::new().set_num_format(num.as_str());
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format(num.as_str());
    let mut wb = Workbook::new();
    let created =
        ExcelDateTime::from_ymd(u16::try_from(month.year).unwrap_or(2000), month.month as u8, 1).map_err(x)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("Chargeback {month}"))
            .set_author("tally")
            .set_creation_datetime(&created),
    );
    let groups = by_business_unit(j);
    let mut taken = vec!["Summary".to_string()];
    {
        let ws = wb.add_worksheet();
        ws.set_name("Summary").map_err(x)?;
        let head = ["Billing month", "Business unit", "Cost centres", "Projects", "Currency", "Amount"];
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(x)?;
        }
        let mut row = 1u32;
        for (bu, (lines, total)) in &groups {
            let mut ccs: Vec<&str> = lines.iter().map(|l| l.cost_center.as_str()).filter(|c| !c.is_empty()).collect();
            ccs.dedup();
            let mut projects: Vec<&str> = lines.iter().map(|l| l.project.as_str()).collect();
            projects.dedup();
            ws.write_string(row, 0, month.to_string()).map_err(x)?;
            ws.write_string(row, 1, bu.as_str()).map_err(x)?;
            ws.write_string(row, 2, if showback { String::new() } else { ccs.join(", ") }).map_err(x)?;
            ws.write_string(row, 3, projects.join(", ")).map_err(x)?;
            ws.write_string(row, 4, currency).map_err(x)?;
            ws.write_number_with_format(row, 5, cell_number(*total, currency), &money_fmt).map_err(x)?;
            row += 1;
        }
        ws.write_string_with_format(row, 0, "Total", &bold).map_err(x)?;
        ws.write_string(row, 4, currency).map_err(x)?;
        ws.write_number_with_format(row, 5, cell_number(j.total, currency), &bold_money).map_err(x)?;
        ws.set_column_width(1, 24).map_err(x)?;
        ws.set_column_width(2, 18).map_err(x)?;
        ws.set_column_width(3, 40).map_err(x)?;
        ws.set_column_width(5, 16).map_err(x)?;
    }
    for (bu, (lines, total)) in &groups {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(bu, &mut taken)).map_err(x)?;
        let head: Vec<&str> = if showback {
            vec!["billing_month", "business_unit", "project", "category", "currency", "amount"]
        } else {
            vec![
                "billing_month",
                "business_unit",
                "cost_center",
                "gl_account",
                "project",
                "category",
                "currency",
                "amount",
            ]
        };
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(x)?;
        }
        let last = (head.len() - 1) as u16;
        let mut row = 1u32;
        for l in lines {
            let mut cells = vec![l.billing_month.to_string(), l.business_unit.clone()];
            if !showback {
                cells.push(l.cost_center.clone());
                cells.push(l.gl_account.clone());
            }
            cells.extend([l.project.clone(), l.category.to_string(), l.currency.clone()]);
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(row, c as u16, v.as_str()).map_err(x)?;
            }
            ws.write_number_with_format(row, last, cell_number(l.amount, currency), &money_fmt).map_err(x)?;
            row += 1;
        }
        ws.write_string_with_format(row, 0, "Total", &bold).map_err(x)?;
        ws.write_number_with_format(row, last, cell_number(*total, currency), &bold_money).map_err(x)?;
        ws.set_column_width(1, 24).map_err(x)?;
        ws.set_column_width(last - 3, 22).map_err(x)?;
        ws.set_column_width(last, 16).map_err(x)?;
    }
    wb.save_to_buffer().map_err(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn largest_remainder_ties_to_the_rounded_total() {
        let exact = [m("0.334"), m("0.333"), m("0.333")];
        let r = round_largest_remainder(&exact, 2);
        assert_eq!(r, [m("0.34"), m("0.33"), m("0.33")]);
        let exact = [m("10.005"), m("-2.001"), m("0.0049")];
        let r = round_largest_remainder(&exact, 2);
        assert_eq!(r.iter().copied().sum::<Money>(), m("8.0079").round_dp(2));
        for (a, b) in r.iter().zip(exact) {
            assert!((a.raw() - b.raw()).abs() < 10i128.pow(16), "{a} vs {b}");
        }
        assert_eq!(round_largest_remainder(&[m("1.5"), m("2.5")], 0), [m("2"), m("2")]);
    }

    #[test]
    fn csv_text_is_quoted_and_defused() {
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        let mut taken = vec!["Summary".to_string()];
        assert_eq!(sheet_name("Legal & Knowledge", &mut taken), "Legal & Knowledge");
        assert_eq!(sheet_name("a/b:c", &mut taken), "a-b-c");
        assert_eq!(sheet_name("a-b-c", &mut taken), "a-b-c (2)");
        assert_eq!(sheet_name(&"x".repeat(40), &mut taken).len(), 31);
    }
}
