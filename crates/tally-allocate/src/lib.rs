//! Attribution of ledger rows to AI projects and business units.
//!
//! Rules are ordered and the first match wins (like AWS Cost Categories). A row no rule
//! matches keeps an empty project: it is reported as "unallocated", never dropped.

use polars::prelude::*;
use tally_ledger::condition::{is_in_list, tag_value, Conditions};
use tally_ledger::schema::{X_BUSINESS_UNIT, X_PROJECT};

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

/// Adds `x_project`, `x_business_unit` and `x_allocation_rule` to ledger rows by the rules.
pub fn attribute(lf: LazyFrame, rules: &[Rule], projects: &[Project]) -> LazyFrame {
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let known = |e: Expr| is_in_list(e, &names).fill_null(lit(false));
    let mut project = lit(NULL).cast(DataType::String);
    let mut rule_id = lit(NULL).cast(DataType::String);
    for (i, rule) in rules.iter().enumerate().rev() {
        let mut cond = rule.when.as_ref().map(Conditions::to_expr).unwrap_or(lit(true));
        let value = match (&rule.project, &rule.project_from_tag) {
            (Some(p), _) => lit(p.clone()),
            (None, Some(t)) => {
                cond = cond.and(known(tag_value(t)));
                tag_value(t)
            }
            (None, None) => continue,
        };
        project = when(cond.clone()).then(value).otherwise(project);
        rule_id = when(cond).then(lit(rule.label(i))).otherwise(rule_id);
    }
    let mut bu = lit(NULL).cast(DataType::String);
    for p in projects.iter().rev() {
        bu = when(col(X_PROJECT).eq(lit(p.name.clone()))).then(lit(p.business_unit.clone())).otherwise(bu);
    }
    lf.with_columns([project.alias(X_PROJECT), rule_id.alias(X_ALLOCATION_RULE)]).with_column(bu.alias(X_BUSINESS_UNIT))
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
        let out = attribute(df.lazy(), &rules, &projects).collect()?;
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
