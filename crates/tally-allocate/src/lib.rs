//! Attribution of ledger rows to AI projects and business units.
//!
//! Rules are ordered and the first match wins (like AWS Cost Categories). A row no rule
//! matches keeps an empty project: it is reported as "unallocated", never dropped.

use polars::prelude::*;
use tally_ledger::condition::{is_in_list, tag_value, Conditions};
use tally_ledger::schema::{X_BUSINESS_UNIT, X_PROJECT};

pub mod pools;
pub use tally_ledger::split;

/// Column of the allocation dataset naming the rule that attributed the row.
pub const X_ALLOCATION_RULE: &str = "x_allocation_rule";

/// A project of the organisation, with its place in the finance structure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Project {
    /// Project name, as used in rules and reports.
    pub name: String,
    /// Business unit charged for it.
    pub business_unit: String,
    /// Cost centre, for chargeback journals.
    #[serde(default)]
    pub cost_center: Option<String>,
    /// General-ledger account, for chargeback journals.
    #[serde(default)]
    pub gl_account: Option<String>,
    /// Monthly budget in the reporting currency, as a decimal string.
    #[serde(default)]
    pub monthly_budget: Option<tally_ledger::Money>,
}

/// An attribution rule: rows matching `when` go to `project`, or to the project named by the
/// value of the tag `project-from-tag` when that value is a declared project.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// A label for explanations; defaults to `rules[N]`.
    #[serde(default)]
    pub name: Option<String>,
    /// Which rows; all remaining rows when absent.
    #[serde(default)]
    pub when: Option<Conditions>,
    /// The project the rows go to.
    #[serde(default)]
    pub project: Option<String>,
    /// Take the project from this tag's value.
    #[serde(default)]
    pub project_from_tag: Option<String>,
}

impl Rule {
    /// The label stored in `x_allocation_rule`.
    pub fn label(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("rules[{index}]"))
    }

    /// Problems with this rule given the declared projects (empty when valid). No I/O.
    pub fn problems(&self, projects: &[Project]) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.project, &self.project_from_tag) {
            (Some(_), Some(_)) => out.push("give either `project` or `project-from-tag`, not both".to_string()),
            (None, None) => out.push("a rule needs `project` or `project-from-tag`".to_string()),
            (Some(p), None) if !projects.iter().any(|x| &x.name == p) => {
                out.push(format!("unknown project `{p}` (declare it under [[projects]])"));
            }
            _ => {}
        }
        if let Some(w) = &self.when {
            out.extend(w.problems());
        }
        out
    }
}

/// Column: the pool a row that no rule attributed belongs to.
pub use tally_ledger::schema::X_POOL;
/// Column: the row's part in allocation: `direct`, `pooled`, `unallocated` or `share`.
pub const X_ALLOCATION_ROLE: &str = "x_allocation_role";
/// Column (share rows): the pool that was split.
pub const X_ALLOCATION_POOL: &str = "x_allocation_pool";
/// Column (share rows): the pools the cost came through before, `a > b`.
pub const X_ALLOCATION_PATH: &str = "x_allocation_path";
/// Column (share rows): the split method.
pub const X_ALLOCATION_METHOD: &str = "x_allocation_method";
/// Column (share rows): the target's weight (driver value, percentage, direct cost or 1).
pub const X_ALLOCATION_WEIGHT: &str = "x_allocation_weight";
/// Column (share rows): the sum of the weights of all the pool's targets.
pub const X_ALLOCATION_WEIGHT_TOTAL: &str = "x_allocation_weight_total";

/// Role of a ledger row attributed to a project by a rule (or by its source).
pub const ROLE_DIRECT: &str = "direct";
/// Role of a ledger row that went into a shared pool.
pub const ROLE_POOLED: &str = "pooled";
/// Role of a ledger row no rule and no pool took.
pub const ROLE_UNALLOCATED: &str = "unallocated";
/// Role of a row created by splitting a pool (its project is null when it stayed unallocated).
pub const ROLE_SHARE: &str = "share";
/// Role of a row recording a pool's share passed to a later pool (`x_pool` names it); the
/// later pool's own share rows carry the cost on, so these rows are not added to totals.
pub const ROLE_CASCADE: &str = "cascade";

/// Adds `x_project`, `x_business_unit`, `x_allocation_rule`, `x_pool` and `x_allocation_role`
/// to ledger rows: rows a source already attributed keep their project; then the rules, first
/// match wins; then the first pool whose condition matches takes what is left.
pub fn attribute(lf: LazyFrame, rules: &[Rule], projects: &[Project], pools: &[pools::Pool]) -> LazyFrame {
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let known = |e: Expr| is_in_list(e, &names).fill_null(lit(false));
    // The tag values rules take projects from, read once each into a column (which `known`
    // then compares with the project names in place).
    let mut tags: Vec<&str> = rules.iter().filter_map(|r| r.project_from_tag.as_deref()).collect();
    tags.sort_unstable();
    tags.dedup();
    let tag_column = |t: &str| format!("__tag_{}", tags.iter().position(|x| *x == t).unwrap_or_default());
    let lf = lf.with_columns(tags.iter().map(|t| tag_value(t).alias(tag_column(t))).collect::<Vec<_>>());
    let mut project = lit(NULL).cast(DataType::String);
    let mut rule_id = lit(NULL).cast(DataType::String);
    for (i, rule) in rules.iter().enumerate().rev() {
        let mut cond = rule.when.as_ref().map(Conditions::to_expr).unwrap_or(lit(true));
        let value = match (&rule.project, &rule.project_from_tag) {
            (Some(p), _) => lit(p.clone()),
            (None, Some(t)) => {
                let tag = col(tag_column(t));
                cond = cond.and(known(tag.clone()));
                tag
            }
            (None, None) => continue,
        };
        project = when(cond.clone()).then(value).otherwise(project);
        rule_id = when(cond).then(lit(rule.label(i))).otherwise(rule_id);
    }
    let pre = col(X_PROJECT).is_not_null();
    let project = when(pre.clone()).then(col(X_PROJECT)).otherwise(project);
    let rule_id = when(pre).then(lit("source")).otherwise(rule_id);
    let mut pool = lit(NULL).cast(DataType::String);
    for p in pools.iter().rev() {
        pool = when(p.when.to_expr()).then(lit(p.name.clone())).otherwise(pool);
    }
    // A pool the source named comes first.
    let pool = when(col(X_PROJECT).is_null())
        .then(when(col(X_POOL).is_not_null()).then(col(X_POOL)).otherwise(pool))
        .otherwise(lit(NULL).cast(DataType::String));
    let role = when(col(X_PROJECT).is_not_null())
        .then(lit(ROLE_DIRECT))
        .when(col(X_POOL).is_not_null())
        .then(lit(ROLE_POOLED))
        .otherwise(lit(ROLE_UNALLOCATED));
    let mut bu = lit(NULL).cast(DataType::String);
    for p in projects.iter().rev() {
        bu = when(col(X_PROJECT).eq(lit(p.name.clone()))).then(lit(p.business_unit.clone())).otherwise(bu);
    }
    lf.with_columns([project.alias(X_PROJECT), rule_id.alias(X_ALLOCATION_RULE)])
        .with_columns([bu.alias(X_BUSINESS_UNIT), pool.alias(X_POOL)])
        .with_column(role.alias(X_ALLOCATION_ROLE))
        .with_columns([
            lit(NULL).cast(DataType::String).alias(X_ALLOCATION_POOL),
            lit(NULL).cast(DataType::String).alias(X_ALLOCATION_PATH),
            lit(NULL).cast(DataType::String).alias(X_ALLOCATION_METHOD),
            lit(NULL).cast(tally_ledger::MONEY_DTYPE).alias(X_ALLOCATION_WEIGHT),
            lit(NULL).cast(tally_ledger::MONEY_DTYPE).alias(X_ALLOCATION_WEIGHT_TOTAL),
        ])
        .drop(by_name((0..tags.len()).map(|i| format!("__tag_{i}")), true, false))
}

/// The rows of the allocation dataset for pool shares, with the same columns as
/// [`attribute`]'s output: the amount in `measure` (the cost column TCO is measured by), the
/// other cost columns null.
pub fn shares_frame(
    shares: &[pools::Share],
    month: &str,
    currency: &str,
    measure: &str,
    projects: &[Project],
) -> PolarsResult<LazyFrame> {
    use tally_ledger::frame::select_ledger;
    use tally_ledger::schema;
    let n = shares.len();
    let project: Vec<Option<String>> = shares
        .iter()
        .map(|s| match &s.target {
            pools::Target::Project(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let bu: Vec<Option<String>> = project
        .iter()
        .map(|p| p.as_ref().and_then(|p| projects.iter().find(|x| &x.name == p)).map(|x| x.business_unit.clone()))
        .collect();
    let decimal = |name: &str, v: Vec<i128>| -> PolarsResult<Column> {
        Ok(Int128Chunked::from_vec(name.into(), v)
            .into_decimal_unchecked(38, tally_ledger::MONEY_SCALE)
            .into_series()
            .into_column())
    };
    let cascade_to: Vec<Option<String>> = shares
        .iter()
        .map(|s| match &s.target {
            pools::Target::Pool(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let df = DataFrame::new(
        n,
        vec![
            Column::new(X_POOL.into(), cascade_to),
            Column::new("BillingCurrency".into(), vec![currency.to_string(); n]),
            Column::new(schema::X_BILLING_MONTH.into(), vec![month.to_string(); n]),
            Column::new(schema::X_TCO_CATEGORY.into(), shares.iter().map(|s| s.category.as_str()).collect::<Vec<_>>()),
            Column::new(
                "ChargeDescription".into(),
                shares.iter().map(|s| format!("share of pool {} ({})", s.pool, s.method.as_str())).collect::<Vec<_>>(),
            ),
            Column::new(X_PROJECT.into(), project),
            Column::new(X_BUSINESS_UNIT.into(), bu),
            decimal(measure, shares.iter().map(|s| s.amount.raw()).collect())?,
            Column::new(X_ALLOCATION_POOL.into(), shares.iter().map(|s| s.pool.clone()).collect::<Vec<_>>()),
            Column::new(X_ALLOCATION_PATH.into(), shares.iter().map(|s| s.path.join(" > ")).collect::<Vec<_>>()),
            Column::new(X_ALLOCATION_METHOD.into(), shares.iter().map(|s| s.method.as_str()).collect::<Vec<_>>()),
            decimal(X_ALLOCATION_WEIGHT, shares.iter().map(|s| s.weight.raw()).collect())?,
            decimal(X_ALLOCATION_WEIGHT_TOTAL, shares.iter().map(|s| s.weight_total.raw()).collect())?,
        ],
    )?;
    let mut exprs: std::collections::HashMap<&'static str, Expr> = std::collections::HashMap::new();
    for c in ["BillingCurrency", "ChargeDescription", measure] {
        if let Some(col_def) = schema::ledger_columns().find(|x| x.name == c) {
            exprs.insert(col_def.name, col(c));
        }
    }
    exprs.insert(schema::X_BILLING_MONTH, col(schema::X_BILLING_MONTH));
    exprs.insert(schema::X_TCO_CATEGORY, col(schema::X_TCO_CATEGORY));
    exprs.insert(schema::X_PROJECT, col(X_PROJECT));
    exprs.insert(schema::X_BUSINESS_UNIT, col(X_BUSINESS_UNIT));
    exprs.insert(schema::X_POOL, col(X_POOL));
    exprs.insert(schema::X_SOURCE, lit("allocation"));
    exprs.insert(schema::X_SOURCE_FORMAT, lit("pool-share"));
    exprs.insert(schema::X_SOURCE_OBJECT, col(X_ALLOCATION_POOL));
    exprs.insert(schema::X_SOURCE_ROW, lit(0i64));
    exprs.insert(schema::X_COST_BASIS, lit("allocated"));
    let alloc_cols = df.select([
        X_ALLOCATION_POOL,
        X_ALLOCATION_PATH,
        X_ALLOCATION_METHOD,
        X_ALLOCATION_WEIGHT,
        X_ALLOCATION_WEIGHT_TOTAL,
    ])?;
    let ledger = select_ledger(df.lazy(), exprs).collect()?;
    let ledger = ledger.hstack(&[
        Column::new(X_ALLOCATION_RULE.into(), vec![None::<String>; n]),
        Column::new(
            X_ALLOCATION_ROLE.into(),
            shares
                .iter()
                .map(|s| if matches!(s.target, pools::Target::Pool(_)) { ROLE_CASCADE } else { ROLE_SHARE })
                .collect::<Vec<_>>(),
        ),
    ])?;
    Ok(ledger.hstack(alloc_cols.columns())?.lazy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_ledger::condition::Condition;

    fn proj(name: &str, bu: &str) -> Project {
        Project {
            name: name.into(),
            business_unit: bu.into(),
            cost_center: None,
            gl_account: None,
            monthly_budget: None,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_the_rest_stays_unallocated() -> PolarsResult<()> {
        let df = df!(
            "SubAccountId" => ["111", "111", "222", "333"],
            "Tags" => [r#"{"project":"doc-search"}"#, "{}", r#"{"project":"not-declared"}"#, "{}"],
            X_PROJECT => [None::<&str>, None, None, None],
            X_BUSINESS_UNIT => [None::<&str>, None, None, None],
            X_POOL => [None::<&str>, None, None, None],
        )?;
        let projects = vec![proj("doc-search", "Legal"), proj("support-assistant", "CX")];
        let rules = vec![
            Rule { name: Some("by tag".into()), when: None, project: None, project_from_tag: Some("project".into()) },
            Rule {
                name: None,
                when: Some(Conditions::One(Condition {
                    column: Some("SubAccountId".into()),
                    tag: None,
                    equals: None,
                    one_of: Some(vec!["111".into(), "222".into()]),
                    glob: None,
                    regex: None,
                    present: None,
                })),
                project: Some("support-assistant".into()),
                project_from_tag: None,
            },
        ];
        for r in &rules {
            assert!(r.problems(&projects).is_empty());
        }
        let out = attribute(df.lazy(), &rules, &projects, &[]).collect()?;
        let get = |c: &str| -> Vec<Option<String>> {
            out.column(c)
                .map(|s| s.str().map(|s| s.iter().map(|v| v.map(str::to_string)).collect()).unwrap_or_default())
                .unwrap_or_default()
        };
        assert_eq!(
            get(X_PROJECT),
            [Some("doc-search".into()), Some("support-assistant".into()), Some("support-assistant".into()), None]
        );
        assert_eq!(get(X_BUSINESS_UNIT), [Some("Legal".into()), Some("CX".into()), Some("CX".into()), None]);
        assert_eq!(
            get(X_ALLOCATION_RULE),
            [Some("by tag".into()), Some("rules[1]".into()), Some("rules[1]".into()), None]
        );
        Ok(())
    }

    #[test]
    fn unknown_project_is_a_problem() {
        let r = Rule { name: None, when: None, project: Some("x".into()), project_from_tag: None };
        assert_eq!(r.problems(&[]).len(), 1);
    }
}
