//! Shared cost pools and their split rules, run in declared order with cascades, exact to the
//! minor unit (see [`crate::split`]).

use std::collections::{BTreeMap, BTreeSet};

use tally_ledger::condition::Conditions;
use tally_ledger::{Money, TcoCategory};

use crate::{split, Project};

/// How a pool is split among its targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Equal parts.
    Even,
    /// Fixed percentages, which must add up to exactly 100.
    Percent,
    /// In proportion to each target project's direct cost (optionally of one category).
    DirectCost,
    /// In proportion to a driver: tokens, requests, GPU hours, headcount, conversations…
    Driver,
}

impl Method {
    /// The name used in pipeline files and in `x_allocation_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Even => "even",
            Method::Percent => "percent",
            Method::DirectCost => "direct-cost",
            Method::Driver => "driver",
        }
    }
}

/// A shared cost pool.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Pool {
    /// Pool name (distinct from every project name).
    pub name: String,
    /// Ledger rows that no attribution rule matched and that form this pool (the first pool
    /// whose condition matches takes a row).
    pub when: Conditions,
    /// How the pool is split.
    pub method: Method,
    /// Projects and later pools that receive a share; all projects when absent.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// For `percent`: target → percentage (decimal strings adding up to exactly 100).
    #[serde(default)]
    pub percentages: Option<BTreeMap<String, Money>>,
    /// For `driver`: the driver's name (see [`Driver`]).
    #[serde(default)]
    pub driver: Option<String>,
    /// For `direct-cost`: count only direct cost of this category.
    #[serde(default)]
    pub basis_category: Option<TcoCategory>,
}

/// A driver: values per target and month, from the ledger or from a CSV file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Driver {
    /// Driver name, used by pools.
    pub name: String,
    /// Sum this ledger column per project (`x_token_count`, `x_request_count`,
    /// `ConsumedQuantity`, a cost column…).
    #[serde(default)]
    pub column: Option<String>,
    /// Only over ledger rows matching this.
    #[serde(default)]
    pub when: Option<Conditions>,
    /// Or read values from a CSV with columns `month,target,value` (path or URL, relative to
    /// the pipeline file).
    #[serde(default)]
    pub file: Option<String>,
}

/// Where a share of a pool goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A project.
    Project(String),
    /// A later pool (cascade).
    Pool(String),
    /// Nowhere: the pool's driver total was zero, so its cost stays unallocated.
    Unallocated,
}

/// One part of a pool's cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The pool that was split.
    pub pool: String,
    /// The pools the cost came through before, outermost first (empty for a pool's own rows).
    pub path: Vec<String>,
    /// Where the part goes.
    pub target: Target,
    /// Category of the cost.
    pub category: TcoCategory,
    /// The part.
    pub amount: Money,
    /// The method used.
    pub method: Method,
    /// The target's weight (driver value, percentage, direct cost, or 1).
    pub weight: Money,
    /// The sum of all targets' weights.
    pub weight_total: Money,
}

/// Everything allocation needs for one month and currency.
#[derive(Clone, Debug, Default)]
pub struct MonthInput {
    /// Direct cost per (project, category).
    pub direct: BTreeMap<(String, TcoCategory), Money>,
    /// Pool cost per (pool, category): the ledger rows it took.
    pub pooled: BTreeMap<(String, TcoCategory), Money>,
    /// Driver values per driver, per target.
    pub drivers: BTreeMap<String, BTreeMap<String, Money>>,
}

fn hundred() -> Money {
    Money::from_int(100)
}

/// Problems with the pools and drivers (empty when valid). No I/O.
pub fn problems(pools: &[Pool], drivers: &[Driver], projects: &[Project]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let project_names: BTreeSet<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let pool_index: BTreeMap<&str, usize> = pools.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();
    let driver_names: BTreeSet<&str> = drivers.iter().map(|d| d.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    for (i, pool) in pools.iter().enumerate() {
        let at = format!("pools[{i}]");
        let mut add = |m: String| out.push((at.clone(), m));
        if pool.name.trim().is_empty() {
            add("empty pool name".into());
        } else if !seen.insert(pool.name.as_str()) {
            add(format!("duplicate pool `{}`", pool.name));
        } else if project_names.contains(pool.name.as_str()) {
            add(format!("pool `{}` has the name of a project", pool.name));
        }
        for p in pool.when.problems() {
            add(p);
        }
        let targets: Vec<&str> = match (&pool.targets, &pool.percentages) {
            (Some(t), _) => t.iter().map(String::as_str).collect(),
            (None, Some(p)) if pool.method == Method::Percent => p.keys().map(String::as_str).collect(),
            _ => project_names.iter().copied().collect(),
        };
        if targets.is_empty() {
            add("no targets (declare projects, or list `targets`)".into());
        }
        for t in &targets {
            match pool_index.get(t) {
                Some(j) if *j <= i => add(format!(
                    "splits into pool `{t}`, which runs {}: pools run in declared order, so move `{t}` after `{}`",
                    if *j == i { "itself" } else { "before it" },
                    pool.name
                )),
                Some(_) if matches!(pool.method, Method::DirectCost) => {
                    add(format!("method direct-cost cannot target pool `{t}` (it has no direct cost)"))
                }
                Some(_) => {}
                None if project_names.contains(t) => {}
                None => add(format!("unknown target `{t}` (not a project or a pool)")),
            }
        }
        match pool.method {
            Method::Percent => match &pool.percentages {
                None => add("method percent needs `percentages`".into()),
                Some(p) => {
                    let sum: Money = p.values().copied().sum();
                    if sum != hundred() {
                        add(format!("percentages add up to {}, not 100", sum.to_string_min_dp(0)));
                    }
                    if p.values().any(|v| v.is_negative()) {
                        add("negative percentage".into());
                    }
                    for k in p.keys() {
                        if !targets.contains(&k.as_str()) {
                            add(format!("percentage for `{k}`, which is not a target"));
                        }
                    }
                    for t in &targets {
                        if !p.contains_key(*t) {
                            add(format!("no percentage for target `{t}`"));
                        }
                    }
                }
            },
            Method::Driver => match &pool.driver {
                None => add("method driver needs `driver`".into()),
                Some(d) if !driver_names.contains(d.as_str()) => {
                    add(format!("unknown driver `{d}` (declare it under [[drivers]])"))
                }
                Some(_) => {}
            },
            Method::Even | Method::DirectCost => {}
        }
    }
    if let Some(cycle) = find_cycle(pools) {
        out.push(("pools".into(), format!("cycle between pools: {}", cycle.join(" → "))));
    }
    let mut dseen = BTreeSet::new();
    for (i, d) in drivers.iter().enumerate() {
        let at = format!("drivers[{i}]");
        if !dseen.insert(d.name.as_str()) {
            out.push((at.clone(), format!("duplicate driver `{}`", d.name)));
        }
        match (&d.column, &d.file) {
            (Some(_), Some(_)) => out.push((at.clone(), "give either `column` or `file`, not both".into())),
            (None, None) => {
                out.push((at.clone(), "a driver needs `column` (from the ledger) or `file` (a CSV)".into()))
            }
            (Some(c), None) if !tally_ledger::schema::ledger_columns().any(|col| col.name == c) => {
                out.push((at.clone(), format!("unknown ledger column `{c}`")))
            }
            _ => {}
        }
        if let Some(w) = &d.when {
            for p in w.problems() {
                out.push((at.clone(), p));
            }
        }
    }
    out
}

/// A cycle among pools' targets, as the list of pool names (first repeated at the end).
pub fn find_cycle(pools: &[Pool]) -> Option<Vec<String>> {
    let edges: BTreeMap<&str, Vec<&str>> = pools
        .iter()
        .map(|p| {
            let ts = p.targets.iter().flatten().map(String::as_str).filter(|t| pools.iter().any(|q| q.name == *t));
            let from_pct = p
                .percentages
                .iter()
                .flat_map(|m| m.keys().map(String::as_str))
                .filter(|t| pools.iter().any(|q| q.name == *t));
            (p.name.as_str(), ts.chain(from_pct).collect())
        })
        .collect();
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|s| *s == n) {
            let mut cycle: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n);
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    for p in pools {
        if let Some(c) = visit(&p.name, &edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Splits every pool of one month (one currency), in declared order, cascading into later
/// pools. Returns the shares and warnings (pools left unallocated for want of a driver).
///
/// For each pool and category, the shares add up exactly to what the pool held; shares go only
/// to the pool's targets, or to [`Target::Unallocated`] when every weight is zero.
pub fn allocate(
    pools: &[Pool],
    projects: &[Project],
    input: &MonthInput,
    minor_digits: u32,
) -> (Vec<Share>, Vec<String>) {
    let mut held: BTreeMap<String, BTreeMap<(Vec<String>, TcoCategory), Money>> = BTreeMap::new();
    for ((pool, cat), amount) in &input.pooled {
        *held.entry(pool.clone()).or_default().entry((Vec::new(), *cat)).or_insert(Money::ZERO) += *amount;
    }
    let mut shares = Vec::new();
    let mut warnings = Vec::new();
    for pool in pools {
        let Some(amounts) = held.remove(&pool.name) else { continue };
        let targets: Vec<String> = match (&pool.targets, &pool.percentages) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) if pool.method == Method::Percent => p.keys().cloned().collect(),
            _ => projects.iter().map(|p| p.name.clone()).collect(),
        };
        let weights: Vec<Money> = targets
            .iter()
            .map(|t| match pool.method {
                Method::Even => Money::from_int(1),
                Method::Percent => pool.percentages.as_ref().and_then(|p| p.get(t)).copied().unwrap_or(Money::ZERO),
                Method::DirectCost => {
                    let v: Money = input
                        .direct
                        .iter()
                        .filter(|((p, c), _)| p == t && pool.basis_category.is_none_or(|b| b == *c))
                        .map(|(_, v)| *v)
                        .sum();
                    if v.is_negative() {
                        Money::ZERO
                    } else {
                        v
                    }
                }
                Method::Driver => {
                    let v = pool
                        .driver
                        .as_ref()
                        .and_then(|d| input.drivers.get(d))
                        .and_then(|m| m.get(t))
                        .copied()
                        .unwrap_or(Money::ZERO);
                    if v.is_negative() {
                        Money::ZERO
                    } else {
                        v
                    }
                }
            })
            .collect();
        let weight_total: Money = weights.iter().copied().sum();
        for ((path, cat), amount) in amounts {
            let mut path_here = path.clone();
            path_here.push(pool.name.clone());
            match split(amount, &weights, minor_digits) {
                None => {
                    if amount != Money::ZERO {
                        warnings.push(format!(
                            "pool `{}`: the {} total of its targets is zero, so its {} {} stays unallocated",
                            pool.name,
                            pool.driver.as_deref().unwrap_or(pool.method.as_str()),
                            cat,
                            amount
                        ));
                    }
                    shares.push(Share {
                        pool: pool.name.clone(),
                        path,
                        target: Target::Unallocated,
                        category: cat,
                        amount,
                        method: pool.method,
                        weight: Money::ZERO,
                        weight_total,
                    });
                }
                Some(parts) => {
                    for ((t, part), w) in targets.iter().zip(parts).zip(&weights) {
                        if w.raw() == 0 {
                            continue;
                        }
                        let target = if pools.iter().any(|p| &p.name == t) {
                            *held
                                .entry(t.clone())
                                .or_default()
                                .entry((path_here.clone(), cat))
                                .or_insert(Money::ZERO) += part;
                            Target::Pool(t.clone())
                        } else {
                            Target::Project(t.clone())
                        };
                        shares.push(Share {
                            pool: pool.name.clone(),
                            path: path.clone(),
                            target,
                            category: cat,
                            amount: part,
                            method: pool.method,
                            weight: *w,
                            weight_total,
                        });
                    }
                }
            }
        }
    }
    (shares, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn project(name: &str) -> Project {
        Project {
            name: name.into(),
            business_unit: "BU".into(),
            cost_center: None,
            gl_account: None,
            monthly_budget: None,
        }
    }

    fn pool(name: &str, method: Method) -> Pool {
        Pool {
            name: name.into(),
            when: Conditions::All(vec![tally_ledger::condition::Condition {
                column: Some("x_source".into()),
                tag: None,
                equals: Some("x".into()),
                one_of: None,
                glob: None,
                regex: None,
                present: None,
            }]),
            method,
            targets: None,
            percentages: None,
            driver: None,
            basis_category: None,
        }
    }

    fn to_projects(shares: &[Share]) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, Money> = BTreeMap::new();
        for s in shares {
            let key = match &s.target {
                Target::Project(p) => p.clone(),
                Target::Unallocated => "(unallocated)".into(),
                Target::Pool(_) => continue,
            };
            *out.entry(key).or_insert(Money::ZERO) += s.amount;
        }
        out.into_iter().map(|(k, v)| (k, v.to_string())).collect()
    }

    fn input(pooled: &[(&str, TcoCategory, &str)]) -> MonthInput {
        MonthInput {
            pooled: pooled.iter().map(|(p, c, a)| ((p.to_string(), *c), m(a))).collect(),
            ..Default::default()
        }
    }

    const COMPUTE: TcoCategory = TcoCategory::Compute;

    #[test]
    fn even_split_of_a_hundred_between_three() {
        let projects = [project("a"), project("b"), project("c")];
        let (shares, warnings) = allocate(&[pool("p", Method::Even)], &projects, &input(&[("p", COMPUTE, "100")]), 2);
        assert!(warnings.is_empty());
        assert_eq!(
            to_projects(&shares),
            BTreeMap::from([("a".into(), "33.34".into()), ("b".into(), "33.33".into()), ("c".into(), "33.33".into())])
        );
    }

    #[test]
    fn percent_split() {
        let projects = [project("a"), project("b")];
        let mut p = pool("p", Method::Percent);
        p.percentages = Some(BTreeMap::from([("a".into(), m("62.5")), ("b".into(), m("37.5"))]));
        assert!(problems(std::slice::from_ref(&p), &[], &projects).is_empty());
        let (shares, _) = allocate(&[p], &projects, &input(&[("p", COMPUTE, "1000.01")]), 2);
        // 625.00625 → 625.01 (larger remainder), 375.00375 → 375.00
        assert_eq!(
            to_projects(&shares),
            BTreeMap::from([("a".into(), "625.01".into()), ("b".into(), "375.00".into())])
        );
    }

    #[test]
    fn direct_cost_split_counts_only_the_basis_category() {
        let projects = [project("a"), project("b")];
        let mut p = pool("p", Method::DirectCost);
        p.basis_category = Some(TcoCategory::ModelApi);
        let mut inp = input(&[("p", TcoCategory::Infrastructure, "90")]);
        inp.direct.insert(("a".into(), TcoCategory::ModelApi), m("200"));
        inp.direct.insert(("b".into(), TcoCategory::ModelApi), m("100"));
        inp.direct.insert(("b".into(), TcoCategory::Compute), m("5000"));
        let (shares, _) = allocate(&[p], &projects, &inp, 2);
        assert_eq!(to_projects(&shares), BTreeMap::from([("a".into(), "60.00".into()), ("b".into(), "30.00".into())]));
    }

    #[test]
    fn driver_split_and_zero_driver_total_stays_unallocated() {
        let projects = [project("a"), project("b")];
        let mut p = pool("gpu", Method::Driver);
        p.driver = Some("gpu-hours".into());
        let mut inp = input(&[("gpu", COMPUTE, "1200")]);
        inp.drivers.insert("gpu-hours".into(), BTreeMap::from([("a".into(), m("30")), ("b".into(), m("90"))]));
        let (shares, warnings) = allocate(std::slice::from_ref(&p), &projects, &inp, 2);
        assert!(warnings.is_empty());
        assert_eq!(
            to_projects(&shares),
            BTreeMap::from([("a".into(), "300.00".into()), ("b".into(), "900.00".into())])
        );
        inp.drivers.clear();
        let (shares, warnings) = allocate(&[p], &projects, &inp, 2);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(to_projects(&shares), BTreeMap::from([("(unallocated)".into(), "1200.00".into())]));
    }

    #[test]
    fn two_step_cascade() {
        // platform (900) splits evenly into project a and pool obs; obs (its own 100 + 450 from
        // platform) splits 1:4 by requests between a and b.
        let projects = [project("a"), project("b")];
        let mut platform = pool("platform", Method::Even);
        platform.targets = Some(vec!["a".into(), "obs".into()]);
        let mut obs = pool("obs", Method::Driver);
        obs.driver = Some("requests".into());
        let pools = [platform, obs];
        assert!(problems(
            &pools,
            &[Driver { name: "requests".into(), column: Some("x_request_count".into()), when: None, file: None }],
            &projects
        )
        .is_empty());
        let mut inp = input(&[("platform", COMPUTE, "900"), ("obs", COMPUTE, "100")]);
        inp.drivers.insert("requests".into(), BTreeMap::from([("a".into(), m("1")), ("b".into(), m("4"))]));
        let (shares, _) = allocate(&pools, &projects, &inp, 2);
        // a: 450 + (100 + 450) / 5 = 560; b: 550 × 4/5 = 440.
        assert_eq!(
            to_projects(&shares),
            BTreeMap::from([("a".into(), "560.00".into()), ("b".into(), "440.00".into())])
        );
        let via: Vec<_> = shares.iter().filter(|s| s.path == ["platform".to_string()]).collect();
        assert_eq!(via.len(), 2, "obs's split of platform's share keeps its path");
    }

    #[test]
    fn cycles_and_order_mistakes_are_named() {
        let projects = [project("a")];
        let mut x = pool("x", Method::Even);
        x.targets = Some(vec!["y".into()]);
        let mut y = pool("y", Method::Even);
        y.targets = Some(vec!["x".into()]);
        let p = problems(&[x, y], &[], &projects);
        let text: Vec<String> = p.iter().map(|(a, b)| format!("{a}: {b}")).collect();
        assert!(text.iter().any(|t| t == "pools: cycle between pools: x → y → x"), "{text:?}");
        assert!(text.iter().any(|t| t.contains("splits into pool `x`, which runs before it")), "{text:?}");
        let mut bad = pool("z", Method::Percent);
        bad.percentages = Some(BTreeMap::from([("a".into(), m("99.99"))]));
        let text: Vec<String> = problems(&[bad], &[], &projects).into_iter().map(|(_, b)| b).collect();
        assert_eq!(text, ["percentages add up to 99.99, not 100"]);
    }

    /// A random configuration: projects, pools in order (targets: projects and later pools),
    /// methods, drivers (sometimes all zero), direct and pooled amounts (credits included).
    fn config() -> impl Strategy<Value = (Vec<Project>, Vec<Pool>, MonthInput, u32)> {
        (1usize..6, 1usize..6, any::<u64>(), 0u32..3).prop_map(|(np, nq, seed, digits)| {
            let mut rng = seed;
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n.max(1)
            };
            let projects: Vec<Project> = (0..np).map(|i| project(&format!("p{i}"))).collect();
            let mut pools = Vec::new();
            let mut input = MonthInput::default();
            let cats = TcoCategory::ALL;
            for i in 0..nq {
                let name = format!("q{i}");
                let mut targets: Vec<String> =
                    projects.iter().filter(|_| next(3) > 0).map(|p| p.name.clone()).collect();
                for j in (i + 1)..nq {
                    if next(3) == 0 {
                        targets.push(format!("q{j}"));
                    }
                }
                if targets.is_empty() {
                    targets.push(projects[next(np as u64) as usize].name.clone());
                }
                let method = match next(4) {
                    0 => Method::Even,
                    1 => Method::Percent,
                    2 if targets.iter().all(|t| t.starts_with('p')) => Method::DirectCost,
                    _ => Method::Driver,
                };
                let mut p = pool(&name, method);
                if method == Method::Percent {
                    let mut left: i64 = 10_000;
                    let mut pct = BTreeMap::new();
                    for (k, t) in targets.iter().enumerate() {
                        let v = if k + 1 == targets.len() { left } else { next(left as u64 + 1) as i64 };
                        left -= v;
                        pct.insert(t.clone(), Money::from_raw(i128::from(v) * 10i128.pow(16)));
                    }
                    p.percentages = Some(pct);
                }
                if method == Method::Driver {
                    p.driver = Some(format!("d{i}"));
                    let zero = next(5) == 0;
                    let values = targets
                        .iter()
                        .map(|t| {
                            (
                                t.clone(),
                                if zero {
                                    Money::ZERO
                                } else {
                                    Money::from_raw(next(1_000_000) as i128 * 10i128.pow(next(19) as u32))
                                },
                            )
                        })
                        .collect();
                    input.drivers.insert(format!("d{i}"), values);
                }
                p.targets = Some(targets);
                for _ in 0..next(4) {
                    let raw = (next(2_000_000_000_000) as i128 - 1_000_000_000_000) * 10i128.pow(next(18) as u32);
                    *input.pooled.entry((name.clone(), cats[next(5) as usize])).or_insert(Money::ZERO) +=
                        Money::from_raw(raw);
                }
                pools.push(p);
            }
            for pr in &projects {
                for c in cats {
                    if next(2) == 0 {
                        let raw = (next(2_000_000) as i128 - 500_000) * 10i128.pow(16);
                        input.direct.insert((pr.name.clone(), c), Money::from_raw(raw));
                    }
                }
            }
            (projects, pools, input, digits)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn every_cent_of_every_pool_lands_in_a_target_or_stays_unallocated((projects, pools, input, digits) in config()) {
            let drivers: Vec<Driver> = input.drivers.keys().map(|d| Driver { name: d.clone(), column: Some("x_token_count".into()), when: None, file: None }).collect();
            let p = problems(&pools, &drivers, &projects);
            prop_assert!(p.is_empty(), "{:?}", p);
            let (shares, _) = allocate(&pools, &projects, &input, digits);
            // Conservation overall: what reaches projects or stays unallocated is what the pools held.
            let held: Money = input.pooled.values().copied().sum();
            let landed: Money = shares.iter().filter(|s| !matches!(s.target, Target::Pool(_))).map(|s| s.amount).sum();
            prop_assert_eq!(landed, held);
            // Per pool and category: out = own + inflow.
            for pool in &pools {
                for cat in TcoCategory::ALL {
                    let own = input.pooled.get(&(pool.name.clone(), cat)).copied().unwrap_or(Money::ZERO);
                    let inflow: Money = shares.iter().filter(|s| s.category == cat && s.target == Target::Pool(pool.name.clone())).map(|s| s.amount).sum();
                    let out: Money = shares.iter().filter(|s| s.category == cat && s.pool == pool.name).map(|s| s.amount).sum();
                    prop_assert_eq!(out, own + inflow, "pool {} {}", pool.name, cat);
                }
                // No cent goes outside the pool's targets.
                let targets = pool.targets.clone().unwrap_or_default();
                for s in shares.iter().filter(|s| s.pool == pool.name) {
                    match &s.target {
                        Target::Project(t) | Target::Pool(t) => prop_assert!(targets.contains(t), "{} → {}", pool.name, t),
                        Target::Unallocated => {}
                    }
                }
            }
        }
    }
}
