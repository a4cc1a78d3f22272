//! Vendor invoices for what no cloud bill carries: SaaS and services such as a vector
//! database, observability, security tools, audits and support contracts.
//!
//! CSV columns: `month`, `vendor`, `description`, `amount`, `currency`, `category`, and either
//! `project` or `pool` (or neither: the invoice stays unallocated until a rule or pool takes it).

use polars::prelude::LazyFrame;

use crate::internal::{to_ledger, CostRow, Table};
use crate::{Format, Input, SourceError};

/// The vendor-invoices format.
pub struct VendorInvoices;

impl Format for VendorInvoices {
    fn name(&self) -> &'static str {
        "vendor-invoices"
    }

    fn description(&self) -> &'static str {
        "invoices outside the cloud bill (SaaS, audits, support contracts) for a project or a pool (CSV)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["month", "vendor", "amount", "category"].iter().all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        let t = Table::read(input, &["month", "vendor", "description", "amount", "currency", "category"])?;
        let mut rows = Vec::with_capacity(t.height());
        for i in 0..t.height() {
            let project = t.opt(i, "project");
            let pool = t.opt(i, "pool");
            if project.is_some() && pool.is_some() {
                return Err(t.bad(i, "pool", "give either a project or a pool, not both"));
            }
            let amount = t.money(i, "amount")?;
            let vendor = t.text(i, "vendor")?;
            rows.push(CostRow {
                row: i as i64 + 1,
                month: t.month(i, "month")?,
                description: t.opt(i, "description").unwrap_or_else(|| vendor.clone()),
                service: vendor.clone(),
                provider: vendor,
                currency: t.currency(i, "currency")?,
                charge_category: if amount.is_negative() { "Credit" } else { "Usage" },
                billed: amount,
                effective: amount,
                category: t.category(i, "category")?,
                project,
                pool,
                quantity: None,
                unit: None,
                user: None,
            });
        }
        to_ledger(&rows, input, self.name(), "billed")
    }
}
