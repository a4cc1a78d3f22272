//! What the formats for costs that no bill carries share (people, vendor invoices, one-time
//! costs): reading their small CSV tables with checked cells, and building ledger rows.

use polars::prelude::*;
use tally_ledger::frame::{billing_month_expr, month_start_micros, RowsBuilder};
use tally_ledger::layout::BillingMonth;
use tally_ledger::{schema, Money, TcoCategory};

use crate::provider::{cell, csv_rows};
use crate::{Input, SourceError};

/// A CSV table of strings, with checked access to its cells.
pub struct Table<'a> {
    df: DataFrame,
    object: &'a str,
}

impl<'a> Table<'a> {
    /// Reads a CSV with the `required` columns.
    pub fn read(input: &Input<'a>, required: &[&str]) -> Result<Table<'a>, SourceError> {
        let (_, df) = csv_rows(input, required)?;
        Ok(Table { df, object: input.object })
    }

    /// Data rows.
    pub fn height(&self) -> usize {
        self.df.height()
    }

    /// Whether the table has a column.
    pub fn has(&self, column: &str) -> bool {
        self.df.column(column).is_ok()
    }

    /// The error for a bad cell at data row `i` (0-based).
    pub fn bad(&self, i: usize, column: &str, problem: impl Into<String>) -> SourceError {
        SourceError::BadValue {
            object: self.object.to_string(),
            row: i as u64 + 1,
            line: i as u64 + 2,
            column: column.to_string(),
            problem: problem.into(),
        }
    }

    /// The non-empty text of a cell.
    pub fn opt(&self, i: usize, column: &str) -> Option<String> {
        cell(&self.df, column, i)
    }

    /// The text of a cell that must not be empty.
    pub fn text(&self, i: usize, column: &str) -> Result<String, SourceError> {
        self.opt(i, column).ok_or_else(|| self.bad(i, column, "empty, but a value is required"))
    }

    /// A month `YYYY-MM`.
    pub fn month(&self, i: usize, column: &str) -> Result<BillingMonth, SourceError> {
        let raw = self.text(i, column)?;
        BillingMonth::parse(&raw)
            .ok_or_else(|| self.bad(i, column, format!("cannot read `{raw}` as a month (YYYY-MM)")))
    }

    /// An exact decimal amount.
    pub fn money(&self, i: usize, column: &str) -> Result<Money, SourceError> {
        let raw = self.text(i, column)?;
        Money::parse(&raw).map_err(|_| self.bad(i, column, format!("cannot read `{raw}` as a decimal number")))
    }

    /// A TCO category (`people`, `infrastructure`, …).
    pub fn category(&self, i: usize, column: &str) -> Result<TcoCategory, SourceError> {
        let raw = self.text(i, column)?;
        TcoCategory::parse(&raw).ok_or_else(|| {
            self.bad(
                i,
                column,
                format!("`{raw}` is not a category (model_api, compute, infrastructure, people, security_compliance)"),
            )
        })
    }

    /// An ISO 4217 currency code.
    pub fn currency(&self, i: usize, column: &str) -> Result<String, SourceError> {
        let raw = self.text(i, column)?.to_ascii_uppercase();
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(raw)
        } else {
            Err(self.bad(i, column, format!("`{raw}` is not a currency code such as USD")))
        }
    }
}

/// One ledger row of an internal cost table.
#[derive(Clone, Debug)]
pub struct CostRow {
    /// 1-based data row of the table.
    pub row: i64,
    /// Billing month.
    pub month: BillingMonth,
    /// ProviderName (the vendor, or "Internal").
    pub provider: String,
    /// ServiceName.
    pub service: String,
    /// ChargeDescription.
    pub description: String,
    /// BillingCurrency.
    pub currency: String,
    /// ChargeCategory.
    pub charge_category: &'static str,
    /// BilledCost.
    pub billed: Money,
    /// EffectiveCost (= ListCost = ContractedCost).
    pub effective: Money,
    /// x_tco_category.
    pub category: TcoCategory,
    /// x_project (set by the table).
    pub project: Option<String>,
    /// x_pool (set by the table).
    pub pool: Option<String>,
    /// ConsumedQuantity.
    pub quantity: Option<Money>,
    /// ConsumedUnit.
    pub unit: Option<String>,
    /// x_user (a person).
    pub user: Option<String>,
}

/// The ledger frame of internal cost rows.
pub fn to_ledger(
    rows: &[CostRow],
    input: &Input<'_>,
    format: &'static str,
    cost_basis: &str,
) -> Result<LazyFrame, SourceError> {
    let texts = |f: &dyn Fn(&CostRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let moneys = |f: &dyn Fn(&CostRow) -> Option<Money>| rows.iter().map(f).collect::<Vec<_>>();
    RowsBuilder::new(rows.len())
        .text("ProviderName", texts(&|r| Some(r.provider.clone())))
        .text("PublisherName", texts(&|r| Some(r.provider.clone())))
        .text("InvoiceIssuerName", texts(&|r| Some(r.provider.clone())))
        .text("ServiceName", texts(&|r| Some(r.service.clone())))
        .text("ChargeDescription", texts(&|r| Some(r.description.clone())))
        .text("ChargeCategory", texts(&|r| Some(r.charge_category.to_string())))
        .text("BillingCurrency", texts(&|r| Some(r.currency.clone())))
        .text(schema::X_TCO_CATEGORY, texts(&|r| Some(r.category.as_str().to_string())))
        .text(schema::X_PROJECT, texts(&|r| r.project.clone()))
        .text(schema::X_POOL, texts(&|r| r.pool.clone()))
        .text(schema::X_USER, texts(&|r| r.user.clone()))
        .text("ConsumedUnit", texts(&|r| r.unit.clone()))
        .money("ConsumedQuantity", moneys(&|r| r.quantity))
        .money("BilledCost", moneys(&|r| Some(r.billed)))
        .money("EffectiveCost", moneys(&|r| Some(r.effective)))
        .money("ListCost", moneys(&|r| Some(r.effective)))
        .money("ContractedCost", moneys(&|r| Some(r.effective)))
        .time("BillingPeriodStart", rows.iter().map(|r| Some(month_start_micros(r.month))).collect())
        .time("BillingPeriodEnd", rows.iter().map(|r| Some(month_start_micros(r.month.next()))).collect())
        .time("ChargePeriodStart", rows.iter().map(|r| Some(month_start_micros(r.month))).collect())
        .time("ChargePeriodEnd", rows.iter().map(|r| Some(month_start_micros(r.month.next()))).collect())
        .int(schema::X_SOURCE_ROW, rows.iter().map(|r| Some(r.row)).collect())
        .constant("BillingAccountId", format)
        .constant("ServiceCategory", "Other")
        .constant("ChargeFrequency", "Recurring")
        .constant(schema::X_SOURCE, input.source)
        .constant(schema::X_SOURCE_FORMAT, format)
        .constant(schema::X_SOURCE_OBJECT, input.object)
        .constant(schema::X_COST_BASIS, cost_basis)
        .expr(schema::X_BILLING_MONTH, billing_month_expr())
        .build()
        .map_err(|source| SourceError::Polars {
            object: input.object.to_string(),
            action: "building the ledger rows",
            source,
        })
}
