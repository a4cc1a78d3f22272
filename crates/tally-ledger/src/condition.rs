//! Row conditions shared by every rule in a pipeline file (category overrides, attribution
//! rules, pool selectors): match a ledger column or a tag by equality, list, glob or regex, or
//! by presence. Conditions are checked without I/O and compile to Polars expressions.

use polars::prelude::*;

use crate::schema;

/// What a condition looks at: a ledger column or a key of the `Tags` JSON object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Condition {
    /// A ledger column (FOCUS or `x_`), e.g. `SubAccountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A tag key, e.g. `project` or `user:team`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Matches when the value equals this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Matches when the value is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// Matches when the whole value matches this glob (`*`, `?`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glob: Option<String>,
    /// Matches when the value contains a match of this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// `true`: the value is present and not empty; `false`: it is absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

/// One or several conditions that must all hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Conditions {
    /// A single condition.
    One(Condition),
    /// All of these.
    All(Vec<Condition>),
}

impl Conditions {
    /// The conditions as a slice.
    pub fn as_slice(&self) -> &[Condition] {
        match self {
            Conditions::One(c) => std::slice::from_ref(c),
            Conditions::All(v) => v,
        }
    }

    /// Problems with these conditions (empty when valid). No I/O.
    pub fn problems(&self) -> Vec<String> {
        let list = self.as_slice();
        if list.is_empty() {
            return vec!["an empty list of conditions matches nothing".to_string()];
        }
        list.iter().flat_map(Condition::problems).collect()
    }

    /// The Polars expression that is `true` exactly where every condition holds.
    pub fn to_expr(&self) -> Expr {
        self.as_slice().iter().map(Condition::to_expr).reduce(|a, b| a.and(b)).unwrap_or(lit(false))
    }
}

/// Turns a glob into an anchored regular expression.
pub fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for ch in glob.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

impl Condition {
    /// Problems with this condition (empty when valid). No I/O.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.column, &self.tag) {
            (Some(_), Some(_)) => out.push("give either `column` or `tag`, not both".to_string()),
            (None, None) => out.push("a condition needs `column` or `tag`".to_string()),
            (Some(c), None) if !schema::ledger_columns().any(|col| col.name == c) => {
                out.push(format!("unknown ledger column `{c}`"));
            }
            (None, Some(t)) if t.is_empty() => out.push("empty tag key".to_string()),
            _ => {}
        }
        let ops = [
            self.equals.is_some(),
            self.one_of.is_some(),
            self.glob.is_some(),
            self.regex.is_some(),
            self.present.is_some(),
        ];
        match ops.iter().filter(|b| **b).count() {
            0 => out.push("a condition needs one of `equals`, `one-of`, `glob`, `regex`, `present`".to_string()),
            1 => {}
            _ => out.push("a condition takes only one of `equals`, `one-of`, `glob`, `regex`, `present`".to_string()),
        }
        if let Some(re) = &self.regex {
            if let Err(e) = regex::Regex::new(re) {
                out.push(format!("invalid regex `{re}`: {e}"));
            }
        }
        if let Some(list) = &self.one_of {
            if list.is_empty() {
                out.push("`one-of` is empty".to_string());
            }
        }
        out
    }

    fn value(&self) -> Expr {
        match (&self.column, &self.tag) {
            (Some(c), _) => col(c.as_str()).cast(DataType::String),
            (None, Some(t)) => tag_value(t),
            (None, None) => lit(NULL).cast(DataType::String),
        }
    }

    /// The Polars expression that is `true` exactly where this condition holds (never null).
    pub fn to_expr(&self) -> Expr {
        let v = self.value();
        let e = if let Some(s) = &self.equals {
            v.eq(lit(s.clone()))
        } else if let Some(list) = &self.one_of {
            is_in_list(v, list)
        } else if let Some(g) = &self.glob {
            v.str().contains(lit(glob_to_regex(g)), true)
        } else if let Some(re) = &self.regex {
            v.str().contains(lit(re.clone()), true)
        } else if let Some(p) = self.present {
            let present = v.clone().is_not_null().and(v.neq(lit("")));
            if p {
                present
            } else {
                present.not()
            }
        } else {
            lit(false)
        };
        e.fill_null(lit(false))
    }
}

/// `true` where `e` is one of `values` (null where `e` is null).
///
/// The list becomes comparisons joined by `or` (a balanced tree, so the expression stays
/// shallow), which the streaming engine evaluates in place: up to [`COMPARISON_LIST_MAX`] values
/// when `e` is a column, up to 16 when it is an expression (repeated in each comparison). An
/// `is_in` against a literal list becomes nodes of its own, fed by a multiplexer that buffers
/// rows while the branches drift apart: with the 50 projects of the allocation benchmark it held
/// about 800 MB of a 2M-row month. Give a long list a column (see `tally_allocate::attribute`).
pub fn is_in_list<S: AsRef<str>>(e: Expr, values: &[S]) -> Expr {
    let max = if matches!(e, Expr::Column(_)) { COMPARISON_LIST_MAX } else { 16 };
    if values.len() <= max {
        let mut terms: Vec<Expr> = values.iter().map(|v| e.clone().eq(lit(v.as_ref().to_string()))).collect();
        if terms.is_empty() {
            return e.is_null().and(lit(false));
        }
        while terms.len() > 1 {
            let mut next = Vec::with_capacity(terms.len().div_ceil(2));
            let mut it = terms.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => a.or(b),
                    None => a,
                });
            }
            terms = next;
        }
        return terms.pop().unwrap_or_else(|| lit(false));
    }
    let series = Series::new("values".into(), values.iter().map(|v| v.as_ref().to_string()).collect::<Vec<_>>());
    e.is_in(lit(series).implode(false), false)
}

/// The longest list [`is_in_list`] turns into comparisons.
pub const COMPARISON_LIST_MAX: usize = 256;

/// The value of tag `key` from the `Tags` JSON object column (null when absent).
pub fn tag_value(key: &str) -> Expr {
    let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
    col("Tags").str().json_path_match(lit(format!("$['{escaped}']")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> PolarsResult<DataFrame> {
        df!(
            "SubAccountId" => [Some("111"), Some("222"), None, Some("333")],
            "Tags" => [Some(r#"{"project":"support-assistant","user:team":"cx"}"#), Some("{}"), None, Some(r#"{"project":""}"#)],
        )
    }

    fn eval(c: Condition) -> Vec<bool> {
        let cond = Conditions::One(c);
        assert!(cond.problems().is_empty(), "{:?}", cond.problems());
        let out = frame().and_then(|df| df.lazy().select([cond.to_expr().alias("m")]).collect());
        let out = out.unwrap_or_else(|e| panic!("{e}"));
        out.column("m")
            .and_then(|c| c.bool().cloned())
            .map(|b| b.iter().map(|v| v.unwrap_or(false)).collect())
            .unwrap_or_default()
    }

    fn base() -> Condition {
        Condition { column: None, tag: None, equals: None, one_of: None, glob: None, regex: None, present: None }
    }

    #[test]
    fn each_operator_matches_what_it_says() {
        assert_eq!(
            eval(Condition { column: Some("SubAccountId".into()), equals: Some("222".into()), ..base() }),
            [false, true, false, false]
        );
        assert_eq!(
            eval(Condition {
                column: Some("SubAccountId".into()),
                one_of: Some(vec!["111".into(), "333".into()]),
                ..base()
            }),
            [true, false, false, true]
        );
        assert_eq!(
            eval(Condition { tag: Some("project".into()), glob: Some("support-*".into()), ..base() }),
            [true, false, false, false]
        );
        assert_eq!(
            eval(Condition { tag: Some("user:team".into()), regex: Some("^c".into()), ..base() }),
            [true, false, false, false]
        );
        assert_eq!(
            eval(Condition { tag: Some("project".into()), present: Some(true), ..base() }),
            [true, false, false, false]
        );
        assert_eq!(
            eval(Condition { tag: Some("project".into()), present: Some(false), ..base() }),
            [false, true, true, true]
        );
    }

    #[test]
    fn problems_are_all_reported() {
        let c = Condition {
            column: Some("Nope".into()),
            tag: None,
            equals: Some("a".into()),
            regex: Some("(".into()),
            ..base()
        };
        let p = Conditions::One(c).problems();
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn long_and_short_lists_match_alike_on_columns_and_expressions() {
        let df = frame().unwrap();
        let many: Vec<String> = (0..300).map(|i| format!("{i}")).chain(["333".to_string()]).collect();
        for values in [&many[..40], &many[..], &many[295..]] {
            let on_column = is_in_list(col("SubAccountId"), values);
            let on_expr = is_in_list(col("SubAccountId").str().to_uppercase(), values);
            let out = df.clone().lazy().select([on_column.alias("c"), on_expr.alias("e")]).collect().unwrap();
            let expect: Vec<Option<bool>> = ["111", "222", "", "333"]
                .iter()
                .enumerate()
                .map(|(i, v)| if i == 2 { None } else { Some(values.iter().any(|x| x == v)) })
                .collect();
            for name in ["c", "e"] {
                let got: Vec<Option<bool>> = out.column(name).unwrap().bool().unwrap().iter().collect();
                assert_eq!(got, expect, "{name} with {} values", values.len());
            }
        }
    }

    #[test]
    fn glob_escapes_regex_characters() {
        assert_eq!(glob_to_regex("a.b*"), "^a\\.b.*$");
    }
}
