//! One-time costs (an initial build, a compliance certification, a security review),
//! amortised over N months from a start month.
//!
//! CSV columns: `name`, `amount`, `currency`, `start_month`, `months`, `category`, and either
//! `project` or `pool`. Each cost becomes one row per month of its schedule: the whole amount is
//! billed in the first month (BilledCost) and spread evenly over the months (EffectiveCost),
//! split exactly in the currency's minor unit so the schedule adds back to the amount. As FOCUS
//! does for commitments: a Purchase row in the first month carries the bill (EffectiveCost 0)
//! and one Usage row per month carries its share (BilledCost 0).

use polars::prelude::LazyFrame;
use tally_ledger::{minor_digits, Money};

use crate::internal::{to_ledger, CostRow, Table};
use crate::{Format, Input, SourceError};

/// The one-time costs format.
pub struct OneTime;

impl Format for OneTime {
    fn name(&self) -> &'static str {
        "one-time"
    }

    fn description(&self) -> &'static str {
        "one-time costs amortised over N months from a start month, with the schedule as rows (CSV)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["name", "amount", "start_month", "months"].iter().all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        let t = Table::read(input, &["name", "amount", "currency", "start_month", "months", "category"])?;
        let mut rows = Vec::new();
        for i in 0..t.height() {
            let name = t.text(i, "name")?;
            let amount = t.money(i, "amount")?;
            let currency = t.currency(i, "currency")?;
            let start = t.month(i, "start_month")?;
            let raw_months = t.text(i, "months")?;
            let months: usize = match raw_months.parse() {
                Ok(n) if (1..=120).contains(&n) => n,
                _ => return Err(t.bad(i, "months", format!("`{raw_months}` is not a number of months from 1 to 120"))),
            };
            let project = t.opt(i, "project");
            let pool = t.opt(i, "pool");
            if project.is_some() && pool.is_some() {
                return Err(t.bad(i, "pool", "give either a project or a pool, not both"));
            }
            let category = t.category(i, "category")?;
            let parts = tally_ledger::split(amount, &vec![Money::from_int(1); months], minor_digits(&currency))
                .unwrap_or_else(|| vec![amount]);
            rows.push(CostRow {
                row: i as i64 + 1,
                month: start,
                provider: "Internal".into(),
                service: "One-time costs".into(),
                description: format!("{name}: purchase of {amount} {currency}, amortised over {months} months"),
                currency: currency.clone(),
                charge_category: "Purchase",
                billed: amount,
                effective: Money::ZERO,
                category,
                project: project.clone(),
                pool: pool.clone(),
                quantity: None,
                unit: None,
                user: None,
            });
            let mut month = start;
            for (k, part) in parts.into_iter().enumerate() {
                rows.push(CostRow {
                    row: i as i64 + 1,
                    month,
                    provider: "Internal".into(),
                    service: "One-time costs".into(),
                    description: format!(
                        "{name}: month {} of {months}, amortised from {start} ({amount} {currency})",
                        k + 1
                    ),
                    currency: currency.clone(),
                    charge_category: "Usage",
                    billed: Money::ZERO,
                    effective: part,
                    category,
                    project: project.clone(),
                    pool: pool.clone(),
                    quantity: None,
                    unit: None,
                    user: None,
                });
                month = month.next();
            }
        }
        rows.sort_by_key(|r| (r.month, r.row));
        to_ledger(&rows, input, self.name(), "billed")
    }
}
