//! People: engineers and other roles with a monthly loaded cost (or an annual salary plus an
//! overhead percentage), shared between projects month by month.
//!
//! CSV columns: `month`, `person`, `project`, `share` (a fraction `0.6` or a percentage `60%`),
//! `currency`, and `monthly_cost` or `annual_salary` with an optional `overhead_pct`; optional
//! `role` and `pool` (the shared pool that takes the part of the month not assigned to a
//! project). One row per person, month and project; a row with an empty project only declares
//! the person. Each person-month's cost is split exactly, by the largest-remainder method in
//! the currency's minor unit, so the parts add back to the cost to the cent.

use std::collections::BTreeMap;

use polars::prelude::LazyFrame;
use tally_ledger::{minor_digits, Money, TcoCategory};

use crate::internal::{to_ledger, CostRow, Table};
use crate::{Format, Input, SourceError};

/// The people format.
pub struct People;

struct Entry {
    i: usize,
    project: Option<String>,
    share: Money,
}

struct PersonMonth {
    first: usize,
    role: Option<String>,
    cost: Money,
    currency: String,
    pool: Option<String>,
    entries: Vec<Entry>,
}

fn share(t: &Table<'_>, i: usize) -> Result<Money, SourceError> {
    let Some(raw) = t.opt(i, "share") else { return Ok(Money::ZERO) };
    let value = match raw.strip_suffix('%') {
        Some(pct) => Money::parse(pct.trim()).ok().and_then(|v| v.mul_div(Money::from_int(1), Money::from_int(100))),
        None => Money::parse(&raw).ok(),
    };
    match value {
        Some(v) if !v.is_negative() => Ok(v),
        Some(_) => Err(t.bad(i, "share", format!("negative share `{raw}`"))),
        None => Err(t.bad(i, "share", format!("cannot read `{raw}` as a share (0.6 or 60%)"))),
    }
}

fn monthly_cost(t: &Table<'_>, i: usize) -> Result<Money, SourceError> {
    let cost = if t.opt(i, "monthly_cost").is_some() || !t.has("annual_salary") {
        t.money(i, "monthly_cost")?
    } else {
        let salary = t.money(i, "annual_salary")?;
        let overhead = if t.opt(i, "overhead_pct").is_some() { t.money(i, "overhead_pct")? } else { Money::ZERO };
        let loaded = Money::from_int(100) + overhead;
        salary.mul_div(loaded, Money::from_int(1200)).ok_or_else(|| t.bad(i, "annual_salary", "out of range"))?
    };
    if cost.is_negative() {
        return Err(t.bad(i, "monthly_cost", format!("negative cost {cost}")));
    }
    Ok(cost)
}

impl Format for People {
    fn name(&self) -> &'static str {
        "people"
    }

    fn description(&self) -> &'static str {
        "people and roles: monthly loaded cost (or salary + overhead %) shared between projects (CSV)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["month", "person", "project", "share"].iter().all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        let t = Table::read(input, &["month", "person", "project", "share", "currency"])?;
        if !t.has("monthly_cost") && !t.has("annual_salary") {
            return Err(SourceError::MissingColumns {
                object: input.object.to_string(),
                columns: vec!["monthly_cost or annual_salary".into()],
            });
        }
        let mut groups: BTreeMap<(tally_ledger::layout::BillingMonth, String), PersonMonth> = BTreeMap::new();
        for i in 0..t.height() {
            let month = t.month(i, "month")?;
            let person = t.text(i, "person")?;
            let cost = monthly_cost(&t, i)?;
            let currency = t.currency(i, "currency")?;
            let project = t.opt(i, "project");
            let share = share(&t, i)?;
            if project.is_none() && share.raw() != 0 {
                return Err(t.bad(
                    i,
                    "project",
                    "a share needs a project (leave both empty to declare the person only)",
                ));
            }
            let g = groups.entry((month, person.clone())).or_insert_with(|| PersonMonth {
                first: i,
                role: t.opt(i, "role"),
                cost,
                currency: currency.clone(),
                pool: t.opt(i, "pool"),
                entries: Vec::new(),
            });
            if g.cost != cost {
                return Err(t.bad(
                    i,
                    "monthly_cost",
                    format!("{person} costs {} in {month} on row {} but {cost} here", g.cost, g.first + 1),
                ));
            }
            if g.currency != currency {
                return Err(t.bad(i, "currency", format!("{person} is paid in {} on row {}", g.currency, g.first + 1)));
            }
            if g.pool.is_none() {
                g.pool = t.opt(i, "pool");
            }
            if project.is_some() {
                g.entries.push(Entry { i, project, share });
            }
        }
        let one = Money::from_int(1);
        let mut rows = Vec::new();
        for ((month, person), g) in groups {
            let assigned: Money = g.entries.iter().map(|e| e.share).sum();
            if assigned > one {
                let list = g.entries.iter().map(|e| (e.i + 1).to_string()).collect::<Vec<_>>().join(", ");
                let last = g.entries.last().map(|e| e.i).unwrap_or(g.first);
                return Err(t.bad(
                    last,
                    "share",
                    format!(
                        "{person}'s shares for {month} add up to {}%, more than 100% (rows {list})",
                        assigned.mul_div(Money::from_int(100), one).unwrap_or(assigned).to_string_min_dp(0)
                    ),
                ));
            }
            let mut weights: Vec<Money> = g.entries.iter().map(|e| e.share).collect();
            let rest = one - assigned;
            if rest.raw() > 0 {
                weights.push(rest);
            }
            let parts = if weights.iter().any(|w| w.raw() > 0) {
                tally_ledger::split(g.cost, &weights, minor_digits(&g.currency)).unwrap_or_else(|| vec![g.cost])
            } else {
                vec![g.cost]
            };
            let role = g.role.clone().unwrap_or_else(|| "staff".into());
            let row_for = |i: usize, project: Option<String>, amount: Money, fte: Money, what: String| CostRow {
                row: i as i64 + 1,
                month,
                provider: "Internal".into(),
                service: "People".into(),
                description: format!("{person} ({role}): {what} of {} {}", g.cost, g.currency),
                currency: g.currency.clone(),
                charge_category: "Usage",
                billed: amount,
                effective: amount,
                category: TcoCategory::People,
                pool: if project.is_none() { g.pool.clone() } else { None },
                project,
                quantity: Some(fte),
                unit: Some("FTE".into()),
                user: Some(person.clone()),
            };
            for (e, part) in g.entries.iter().zip(&parts) {
                rows.push(row_for(
                    e.i,
                    e.project.clone(),
                    *part,
                    e.share,
                    format!("{} FTE", e.share.to_string_min_dp(0)),
                ));
            }
            if parts.len() > g.entries.len() {
                let part = parts.last().copied().unwrap_or(Money::ZERO);
                rows.push(row_for(
                    g.first,
                    None,
                    part,
                    rest,
                    format!("{} FTE not assigned to a project", rest.to_string_min_dp(0)),
                ));
            }
        }
        to_ledger(&rows, input, self.name(), "internal")
    }
}
