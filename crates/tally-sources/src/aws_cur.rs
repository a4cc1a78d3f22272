//! AWS Cost and Usage Reports, legacy format (CUR 1): CSV or CSV.gz with `identity/…`, `bill/…`,
//! `lineItem/…`, `product/…`, `pricing/…`, `reservation/…`, `savingsPlan/…` and
//! `resourceTags/user:*` columns, delivered as parts plus a `…-Manifest.json` per assembly.
//!
//! The mapping (shared with CUR 2.0, see [`crate::aws_cur2`]) follows the FinOps Foundation
//! converter: BilledCost is `UnblendedCost`; EffectiveCost is amortised (covered usage carries
//! `reservation/EffectiveCost` or `savingsPlan/SavingsPlanEffectiveCost`, the RI fee keeps only
//! its unused part, the Savings Plan recurring fee only `TotalCommitmentToDate − UsedCommitment`,
//! upfront fees and Savings Plan negations are 0); ListCost is `pricing/publicOnDemandCost`.
//! Discounts and credits are `Credit`, refunds `Adjustment`, tax `Tax`. Costs are read as
//! `Decimal(38, 18)` straight from the text (Parquet floats through their shortest text).
//!
//! A manifest (`…-Manifest.json`) given as an input yields no rows: it is checked against the
//! parts beside it (every `reportKeys` object must exist, and every part in its folder must be
//! listed), so a delivery with a missing or foreign part is an error naming the object.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use tally_ledger::condition::is_in_list;
use tally_ledger::frame::{billing_month_expr, category_expr, select_ledger};
use tally_ledger::schema;
use tally_ledger::{TcoCategory, MONEY_DTYPE};

use crate::focus::{datetime_format, parse_datetime};
use crate::{BadCell, CsvHead, Format, Input, SourceError};

/// ProviderName (and InvoiceIssuerName for AWS's own charges), as in AWS's FOCUS exports.
const AWS: &str = "Amazon Web Services";

/// The legacy CUR format.
pub struct AwsCur;

pub(crate) const ROW: &str = "__tally_row";

/// How the export names its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `lineItem/UnblendedCost`.
    Legacy,
    /// `line_item_unblended_cost`.
    Cur2,
}

/// `lineItem/UnblendedCost` → `line_item_unblended_cost`, `reservation/ReservationARN` →
/// `reservation_reservation_a_r_n` (CUR 2.0's own spelling).
pub fn cur2_name(legacy: &str) -> String {
    let mut out = String::with_capacity(legacy.len() + 8);
    for ch in legacy.chars() {
        match ch {
            '/' | ':' => out.push('_'),
            c if c.is_ascii_uppercase() => {
                if !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            }
            c => out.push(c),
        }
    }
    out
}

impl Style {
    pub(crate) fn name(self, legacy: &str) -> String {
        match self {
            Style::Legacy => legacy.to_string(),
            Style::Cur2 => cur2_name(legacy),
        }
    }
}

/// Columns without which a file is not a CUR of the given style.
pub(crate) const REQUIRED: &[&str] = &[
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
];

/// Money and quantity columns, read as `Decimal(38, 18)`.
const DECIMALS: &[&str] = &[
    "lineItem/UnblendedCost",
    "lineItem/UnblendedRate",
    "lineItem/UsageAmount",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
];

/// Date/time columns.
const DATES: &[&str] =
    &["bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageStartDate", "lineItem/UsageEndDate"];

/// FOCUS service category of AWS product codes (the converter's lookup, abridged).
const SERVICE_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "AI and Machine Learning",
        &[
            "AmazonBedrock",
            "AmazonSageMaker",
            "AmazonComprehend",
            "AmazonRekognition",
            "AmazonTextract",
            "AmazonTranscribe",
            "AmazonPolly",
            "AmazonTranslate",
            "AmazonKendra",
            "AmazonQ",
            "AmazonLex",
        ],
    ),
    ("Compute", &["AmazonEC2", "AWSLambda", "AmazonECS", "AmazonEKS", "AWSBatch", "AmazonLightsail", "AWSFargate"]),
    ("Storage", &["AmazonS3", "AmazonEFS", "AmazonFSx", "AmazonS3GlacierDeepArchive", "AWSBackup", "AmazonGlacier"]),
    (
        "Databases",
        &["AmazonRDS", "AmazonDynamoDB", "AmazonElastiCache", "AmazonRedshift", "AmazonDocDB", "AmazonNeptune"],
    ),
    ("Analytics", &["AmazonES", "AmazonOpenSearchService", "AmazonAthena", "AWSGlue", "AmazonKinesis", "AmazonEMR"]),
    (
        "Networking",
        &["AmazonVPC", "AWSDataTransfer", "AmazonCloudFront", "AmazonRoute53", "AWSELB", "AWSDirectConnect"],
    ),
    ("Security", &["AWSKMS", "AmazonGuardDuty", "AWSSecretsManager", "AWSSecurityHub", "awswaf", "AmazonInspector"]),
    ("Identity", &["AWSIAMIdentityCenter", "AmazonCognito", "AWSDirectoryService"]),
    ("Management and Governance", &["AmazonCloudWatch", "AWSCloudTrail", "AWSConfig", "AWSCostExplorer"]),
    ("Other", &["AWSSupportBusiness", "AWSSupportEnterprise", "AWSSupportDeveloper", "OCBPremiumSupport"]),
];

/// Line item types by FOCUS charge category (anything else is an `Adjustment`).
const USAGE_TYPES: &[&str] = &["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation"];
const PURCHASE_TYPES: &[&str] = &["Fee", "RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee"];
const CREDIT_TYPES: &[&str] = &[
    "Credit",
    "BundledDiscount",
    "Discount",
    "EdpDiscount",
    "PrivateRateDiscount",
    "DistributorDiscount",
    "SppDiscount",
    "SavingsPlanDiscount",
];

/// EC2 and SageMaker GPU and accelerator instance families (category `compute`).
pub(crate) const GPU_INSTANCE_REGEX: &str = r"(?i)(^|[:.\s])(ml\.)?(p2|p3|p3dn|p4d|p4de|p5|p5e|p5en|p6|g4dn|g4ad|g5|g5g|g6|g6e|gr6|trn1|trn1n|trn2|inf1|inf2|dl1|dl2q)\.";

fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

fn is_manifest(input: &Input<'_>) -> bool {
    let name = input.object.to_ascii_lowercase();
    name.ends_with("manifest.json") || input.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

pub(crate) fn polars_err<'a>(object: &'a str, action: &'static str) -> impl FnOnce(PolarsError) -> SourceError + 'a {
    move |source| SourceError::Polars { object: object.to_string(), action, source }
}

/// The columns of one input and how they were read.
pub(crate) struct Plan {
    pub lf: LazyFrame,
    pub style: Style,
    /// Column name → dtype as read.
    pub dtypes: HashMap<String, DataType>,
    /// Date format of each date column read as text.
    pub formats: HashMap<String, String>,
    /// Text columns the mapping reads, cleaned once by [`Plan::cleaned`] however often used.
    pub texts: RefCell<BTreeSet<String>>,
}

impl Plan {
    fn has(&self, legacy: &str) -> bool {
        self.dtypes.contains_key(&self.style.name(legacy))
    }

    /// A text column (null when absent or empty), read from the frame [`Plan::cleaned`] returns.
    fn text(&self, legacy: &str) -> Expr {
        let name = self.style.name(legacy);
        if self.dtypes.contains_key(&name) {
            let e = col(name.as_str());
            self.texts.borrow_mut().insert(name);
            e
        } else {
            lit(NULL).cast(DataType::String)
        }
    }

    /// The scan with every text column used so far as text, empty values made null: each column
    /// once, however many expressions read it. (Values are kept as exported, not trimmed: AWS
    /// does not pad them, and trimming copied every string of every column.)
    fn cleaned(&self) -> LazyFrame {
        let exprs: Vec<Expr> = self
            .texts
            .borrow()
            .iter()
            .map(|name| {
                let c = col(name.as_str()).cast(DataType::String);
                when(c.clone().eq(lit(""))).then(lit(NULL).cast(DataType::String)).otherwise(c).alias(name.as_str())
            })
            .collect();
        self.lf.clone().with_columns(exprs)
    }

    /// A decimal column, exact (null when absent).
    fn money(&self, legacy: &str) -> Expr {
        let name = self.style.name(legacy);
        match self.dtypes.get(&name) {
            Some(DataType::Decimal(_, _)) => col(name.as_str()).cast(MONEY_DTYPE),
            Some(_) => col(name.as_str()).cast(DataType::String).cast(MONEY_DTYPE),
            None => lit(NULL).cast(MONEY_DTYPE),
        }
    }

    /// A date/time column as a UTC instant (null when absent or unreadable).
    fn time(&self, legacy: &str) -> Expr {
        let name = self.style.name(legacy);
        let e = col(name.as_str());
        match self.dtypes.get(&name) {
            None => lit(NULL).cast(schema::datetime_dtype()),
            Some(DataType::String) => {
                parse_datetime(e, self.formats.get(&name).map(String::as_str).unwrap_or("%Y-%m-%dT%H:%M:%SZ"))
            }
            Some(DataType::Datetime(_, Some(_))) => {
                e.dt().convert_time_zone(TimeZone::UTC).cast(schema::datetime_dtype())
            }
            Some(_) => e.cast(DataType::Datetime(TimeUnit::Microseconds, None)).dt().replace_time_zone(
                Some(TimeZone::UTC),
                lit("raise"),
                NonExistent::Raise,
            ),
        }
    }

    /// A key of a CUR 2.0 map column (`product`), read as JSON text.
    fn map_key(&self, map: &str, key: &str) -> Expr {
        if self.style == Style::Cur2 && self.dtypes.contains_key(map) {
            col(map).cast(DataType::String).str().json_path_match(lit(format!("$.{key}")))
        } else {
            lit(NULL).cast(DataType::String)
        }
    }

    /// A product attribute: the flat column, else (CUR 2.0) the key of the `product` map.
    fn product(&self, legacy_attr: &str, map_key: &str) -> Expr {
        let flat = format!("product/{legacy_attr}");
        if self.has(&flat) {
            coalesce(&[self.text(&flat), self.map_key("product", map_key)])
        } else {
            self.map_key("product", map_key)
        }
    }
}

/// Checks that the header is a CUR of `style`: a CUR of an unknown version is an error.
pub(crate) fn check_header(names: &[String], style: Style, object: &str) -> Result<(), SourceError> {
    let missing: Vec<String> =
        REQUIRED.iter().map(|c| style.name(c)).filter(|c| !names.iter().any(|n| n == c)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let looks_legacy = names.iter().any(|n| n.starts_with("lineItem/") || n.starts_with("identity/"));
    let looks_cur2 = names.iter().any(|n| n.starts_with("line_item_") || n.starts_with("identity_"));
    let what = match style {
        Style::Legacy => "legacy AWS CUR (lineItem/… columns)",
        Style::Cur2 => "AWS CUR 2.0 (line_item_… columns)",
    };
    let reason = if (style == Style::Legacy && looks_legacy) || (style == Style::Cur2 && looks_cur2) {
        format!(
            "header (line 1) is not a known {what} version: missing {}; re-export with the standard column set",
            missing.join(", ")
        )
    } else if looks_legacy || looks_cur2 {
        let other = if looks_legacy { "aws-cur" } else { "aws-cur2" };
        format!("header (line 1) is not {what}: it looks like format `{other}`")
    } else {
        format!("header (line 1) is not {what}: missing {}", missing.join(", "))
    };
    Err(SourceError::Unreadable { object: object.to_string(), reason })
}

/// Reads the header and plans the scan; `all_text` reads every column as text (for diagnosis).
pub(crate) fn plan(input: &Input<'_>, style: Style, all_text: bool) -> Result<Plan, SourceError> {
    if is_parquet(input.path) {
        return plan_parquet(input, style);
    }
    let head = CsvHead::read(input.path, input.object)?;
    check_header(&head.columns, style, input.object)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = head.columns.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(SourceError::Unreadable {
            object: input.object.to_string(),
            reason: format!("column `{dup}` appears twice in the header"),
        });
    }
    let decimals: Vec<String> = DECIMALS.iter().map(|c| style.name(c)).collect();
    let dates: Vec<String> = DATES.iter().map(|c| style.name(c)).collect();
    let mut sch = Schema::with_capacity(head.columns.len());
    let mut dtypes = HashMap::new();
    let mut formats = HashMap::new();
    for name in &head.columns {
        let dtype = if !all_text && decimals.contains(name) { MONEY_DTYPE } else { DataType::String };
        if dates.contains(name) {
            let fmt = head.sample(name).and_then(datetime_format).unwrap_or_else(|| "%Y-%m-%dT%H:%M:%SZ".to_string());
            formats.insert(name.clone(), fmt);
        }
        dtypes.insert(name.clone(), dtype.clone());
        sch.with_column(name.as_str().into(), dtype);
    }
    let lf = LazyCsvReader::new_with_sources(crate::mapped::csv_sources(input.path))
        .with_has_header(true)
        .with_schema(Some(Arc::new(sch)))
        .with_row_index(Some(RowIndex { name: ROW.into(), offset: 1 }))
        .with_missing_is_null(true)
        .finish()
        .map_err(polars_err(input.object, "reading the CSV header"))?;
    Ok(Plan { lf, style, dtypes, formats, texts: RefCell::default() })
}

fn plan_parquet(input: &Input<'_>, style: Style) -> Result<Plan, SourceError> {
    let args = ScanArgsParquet {
        row_index: Some(RowIndex { name: ROW.into(), offset: 1 }),
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    let mut lf = LazyFrame::scan_parquet(PlRefPath::new(input.path.to_string_lossy().as_ref()), args)
        .map_err(polars_err(input.object, "opening the Parquet file"))?;
    let file_schema = lf.collect_schema().map_err(polars_err(input.object, "reading the Parquet schema"))?;
    let names: Vec<String> = file_schema.iter_names().map(|n| n.to_string()).filter(|n| n != ROW).collect();
    check_header(&names, style, input.object)?;
    let mut dtypes: HashMap<String, DataType> =
        file_schema.iter().map(|(n, d)| (n.to_string(), d.clone())).filter(|(n, _)| n != ROW).collect();
    // Map columns (`product`, `resource_tags`: list of key/value structs) become JSON text.
    let maps: Vec<String> =
        dtypes.iter().filter(|(_, d)| matches!(d, DataType::List(_))).map(|(n, _)| n.clone()).collect();
    for name in maps {
        let df = lf
            .clone()
            .select([col(ROW), col(name.as_str())])
            .collect()
            .map_err(polars_err(input.object, "reading a map column"))?;
        let rows = df.column(ROW).and_then(|c| c.cast(&DataType::Int64)).map_err(polars_err(input.object, "rows"))?;
        let rows = rows.i64().map_err(polars_err(input.object, "rows"))?.clone();
        let values = df.column(name.as_str()).map_err(polars_err(input.object, "reading a map column"))?;
        let mut texts: Vec<Option<String>> = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let v = values.get(i).map_err(polars_err(input.object, "reading a map column"))?;
            texts.push(map_to_json(&v));
        }
        let side = DataFrame::new(
            df.height(),
            vec![rows.into_series().into_column(), Series::new(name.as_str().into(), texts).into_column()],
        )
        .map_err(polars_err(input.object, "reading a map column"))?;
        let tmp = format!("__json_{name}");
        lf = lf
            .drop(by_name([name.as_str()], true, false))
            .join(
                side.lazy().rename([name.as_str()], [tmp.as_str()], true),
                [col(ROW)],
                [col(ROW)],
                JoinArgs::new(JoinType::Left),
            )
            .rename([tmp.as_str()], [name.as_str()], true);
        dtypes.insert(name, DataType::String);
    }
    Ok(Plan { lf, style, dtypes, formats: HashMap::new(), texts: RefCell::default() })
}

/// A Parquet map value (list of `{key, value}` structs) as JSON object text.
fn map_to_json(v: &AnyValue<'_>) -> Option<String> {
    let AnyValue::List(s) = v else {
        return None;
    };
    let mut obj = serde_json::Map::new();
    let st = s.struct_().ok()?;
    let fields = st.fields_as_series();
    let keys = fields.first()?;
    let vals = fields.get(1)?;
    for i in 0..st.len() {
        let k = keys.get(i).ok()?;
        let val = vals.get(i).ok()?;
        let key = match k {
            AnyValue::String(s) => s.to_string(),
            AnyValue::StringOwned(s) => s.to_string(),
            _ => continue,
        };
        let value = match val {
            AnyValue::String(s) => serde_json::Value::String(s.to_string()),
            AnyValue::StringOwned(s) => serde_json::Value::String(s.to_string()),
            AnyValue::Null => continue,
            other => serde_json::Value::String(other.to_string()),
        };
        obj.insert(key, value);
    }
    Some(serde_json::Value::Object(obj).to_string())
}

/// Text with `\` and `"` escaped for a JSON string.
fn json_escaped(e: Expr) -> Expr {
    e.str().replace_all(lit("\\"), lit("\\\\"), true).str().replace_all(lit("\""), lit("\\\""), true)
}

/// The tag key a CUR tag column stands for: `resourceTags/user:team` → `team`,
/// `resourceTags/aws:createdBy` → `aws:createdBy`.
pub fn tag_key(column: &str) -> Option<&str> {
    let rest = column.strip_prefix("resourceTags/")?;
    Some(rest.strip_prefix("user:").unwrap_or(rest)).filter(|k| !k.is_empty())
}

/// The `Tags` JSON text of a legacy CUR row, from its `resourceTags/…` columns (null when none).
fn legacy_tags(plan: &Plan) -> Expr {
    let mut names: Vec<&String> = plan.dtypes.keys().filter(|n| tag_key(n).is_some()).collect();
    names.sort();
    let pieces: Vec<Expr> = names
        .iter()
        .filter_map(|n| {
            let key = serde_json::Value::String(tag_key(n)?.to_string()).to_string();
            // Empty values are null in the cleaned text column, and a piece with a null is null.
            let v = plan.text(n);
            Some(concat_str([lit(format!("{key}:\"")), json_escaped(v), lit("\"")], "", false))
        })
        .collect();
    if pieces.is_empty() {
        return lit(NULL).cast(DataType::String);
    }
    let joined = concat_str(pieces, ",", true);
    when(joined.clone().is_null().or(joined.clone().eq(lit(""))))
        .then(lit(NULL).cast(DataType::String))
        .otherwise(concat_str([lit("{"), joined, lit("}")], "", false))
}

/// The `Tags` JSON text of a CUR 2.0 row: the `resource_tags` map, `user_` prefixes removed.
fn cur2_tags(plan: &Plan) -> Expr {
    if !plan.dtypes.contains_key("resource_tags") {
        return lit(NULL).cast(DataType::String);
    }
    let t = col("resource_tags").cast(DataType::String).str().strip_chars(lit(NULL));
    let t = t.str().replace_all(lit(r#""user_([^"]*)"\s*:"#), lit(r#""$1":"#), false);
    let empty = t.clone().is_null().or(t.clone().eq(lit(""))).or(t.clone().str().contains(lit(r"^\{\s*\}$"), false));
    when(empty).then(lit(NULL).cast(DataType::String)).otherwise(t)
}

fn m0(e: Expr) -> Expr {
    e.fill_null(lit(0).cast(MONEY_DTYPE))
}

/// Applies user category rules over `chain` (first rule wins), like `category_expr`.
pub(crate) fn with_rules(chain: Expr, input: &Input<'_>) -> Expr {
    let mut chain = chain;
    for rule in input.category_rules.iter().rev() {
        chain = when(rule.when.to_expr()).then(lit(rule.category.as_str())).otherwise(chain);
    }
    chain
}

/// The ledger plan of a CUR file (either style).
pub(crate) fn ledger(input: &Input<'_>, style: Style, format: &'static str) -> Result<LazyFrame, SourceError> {
    if style == Style::Legacy && is_manifest(input) {
        check_manifest(input)?;
        return Ok(empty_ledger());
    }
    if style == Style::Legacy {
        check_part_listed(input)?;
    }
    let p = plan(input, style, false)?;
    let t = p.text("lineItem/LineItemType");
    let billed = p.money("lineItem/UnblendedCost");
    let ri_arn = p.text("reservation/ReservationARN");
    let sp_arn = p.text("savingsPlan/SavingsPlanARN");
    let effective = when(t.clone().eq(lit("SavingsPlanCoveredUsage")))
        .then(m0(p.money("savingsPlan/SavingsPlanEffectiveCost")))
        .when(t.clone().eq(lit("SavingsPlanRecurringFee")))
        .then(m0(p.money("savingsPlan/TotalCommitmentToDate")) - m0(p.money("savingsPlan/UsedCommitment")))
        .when(is_in_list(t.clone(), &["SavingsPlanNegation", "SavingsPlanUpfrontFee"]))
        .then(lit(0).cast(MONEY_DTYPE))
        .when(t.clone().eq(lit("DiscountedUsage")))
        .then(m0(p.money("reservation/EffectiveCost")))
        .when(t.clone().eq(lit("RIFee")))
        .then(
            m0(p.money("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"))
                + m0(p.money("reservation/UnusedRecurringFee")),
        )
        .when(t.clone().eq(lit("Fee")).and(ri_arn.clone().is_not_null()))
        .then(lit(0).cast(MONEY_DTYPE))
        .otherwise(billed.clone());
    let category = when(t.clone().eq(lit("Tax")))
        .then(lit("Tax"))
        .when(is_in_list(t.clone(), PURCHASE_TYPES))
        .then(lit("Purchase"))
        .when(is_in_list(t.clone(), CREDIT_TYPES))
        .then(lit("Credit"))
        .when(is_in_list(t.clone(), USAGE_TYPES))
        .then(lit("Usage"))
        .otherwise(lit("Adjustment"));
    // Derived once per row into temporary columns, then read by many expressions.
    let mut derived: Vec<Expr> = vec![is_in_list(t.clone(), USAGE_TYPES).alias(IS_USAGE)];
    let is_usage = col(IS_USAGE);
    let frequency = when(is_usage.clone())
        .then(lit("Usage-Based"))
        .when(is_in_list(t.clone(), &["RIFee", "SavingsPlanRecurringFee", "Tax"]))
        .then(lit("Recurring"))
        .otherwise(lit("One-Time"));
    let public = p.money("pricing/publicOnDemandCost");
    let list_cost = when(t.clone().eq(lit("SavingsPlanNegation")))
        .then(lit(0).cast(MONEY_DTYPE))
        .otherwise(coalesce(&[public, billed.clone()]));

    let code = p.text("lineItem/ProductCode");
    let usage_type = p.text("lineItem/UsageType");
    let family = p.product("productFamily", "product_family");
    derived.push(
        family
            .clone()
            .eq(lit("Amazon Bedrock"))
            .or(code.clone().eq(lit("AmazonBedrock")))
            .fill_null(lit(false))
            .alias(BEDROCK),
    );
    let bedrock = col(BEDROCK);
    let inference = p.product("inference_type", "inference_type").fill_null(lit(""));
    derived.push(usage_type.clone().fill_null(lit("")).str().to_lowercase().alias(UT));
    derived.push(inference.str().to_lowercase().alias(INF));
    let ut = col(UT);
    let inf = col(INF);
    let token_type = when(
        ut.clone().str().contains(lit("cache-?read"), false).or(inf.clone().str().contains(lit("cache read"), true)),
    )
    .then(lit("cached_input"))
    .when(
        ut.clone().str().contains(lit("cache-?write"), false).or(inf.clone().str().contains(lit("cache write"), true)),
    )
    .then(lit("cache_write"))
    .when(ut.clone().str().contains(lit("input"), true).or(inf.clone().str().contains(lit("input"), true)))
    .then(lit("input"))
    .when(ut.clone().str().contains(lit("output"), true).or(inf.clone().str().contains(lit("output"), true)))
    .then(lit("output"))
    .otherwise(lit(NULL).cast(DataType::String));
    let token_type = when(bedrock.clone()).then(token_type).otherwise(lit(NULL).cast(DataType::String));
    let derived_token_type = token_type.alias(TOKEN_TYPE);
    let token_type = col(TOKEN_TYPE);
    let model_from_usage = usage_type
        .clone()
        .str()
        .extract(lit(r"^[A-Z]{2,4}[0-9]?-([A-Za-z][A-Za-z0-9.\-]*?)-(?:input|output|cache)"), 1);
    let model = when(bedrock.clone())
        .then(coalesce(&[p.product("model", "model"), model_from_usage]))
        .otherwise(lit(NULL).cast(DataType::String));
    let pricing_unit = p.text("pricing/unit");
    let per = when(pricing_unit.clone().fill_null(lit("")).str().contains(lit(r"(?i)1M|million"), false))
        .then(lit(1_000_000i64))
        .when(pricing_unit.clone().fill_null(lit("")).str().contains(lit(r"(?i)^tokens?$"), false))
        .then(lit(1i64))
        .otherwise(lit(1000i64));
    let amount = p.money("lineItem/UsageAmount");
    let tokens = when(token_type.clone().is_not_null())
        .then((amount.clone() * per.cast(DataType::Decimal(38, 0))).cast(DataType::Int64))
        .otherwise(lit(NULL).cast(DataType::Int64));
    let batch = when(
        bedrock.clone().and(ut.clone().str().contains(lit("batch"), true).or(inf.str().contains(lit("batch"), true))),
    )
    .then(lit("batch"))
    .otherwise(lit(NULL).cast(DataType::String));

    let mut service_cat = lit("Other");
    for (cat, codes) in SERVICE_CATEGORIES.iter().rev() {
        service_cat = when(is_in_list(code.clone(), codes)).then(lit(*cat)).otherwise(service_cat);
    }
    let service_cat = when(bedrock.clone()).then(lit("AI and Machine Learning")).otherwise(service_cat);
    let subcategory = when(bedrock.clone())
        .then(lit("Generative AI"))
        .when(code.clone().eq(lit("AmazonEC2")).and(family.clone().eq(lit("Compute Instance")).fill_null(lit(false))))
        .then(lit("Virtual Machines"))
        .otherwise(lit(NULL).cast(DataType::String));
    let instance = coalesce(&[p.product("instanceType", "instance_type"), usage_type.clone()]).fill_null(lit(""));
    let gpu = instance.str().contains(lit(GPU_INSTANCE_REGEX), false).and(is_usage.clone());

    let commitment_id = coalesce(&[sp_arn.clone(), ri_arn.clone()]);
    let covered = is_in_list(t.clone(), &["DiscountedUsage", "SavingsPlanCoveredUsage"]);
    let none = || lit(NULL).cast(DataType::String);

    let account = p.text("bill/PayerAccountId");
    let sub_account = p.text("lineItem/UsageAccountId");
    let start = p.time("lineItem/UsageStartDate");
    let period_start = if p.has("bill/BillingPeriodStartDate") {
        p.time("bill/BillingPeriodStartDate")
    } else {
        start.clone().dt().truncate(lit("1mo"))
    };
    let period_end = if p.has("bill/BillingPeriodEndDate") {
        p.time("bill/BillingPeriodEndDate")
    } else {
        next_month(start.clone())
    };
    let end = if p.has("lineItem/UsageEndDate") { p.time("lineItem/UsageEndDate") } else { start.clone() };
    let product_name = p.product("ProductName", "product_name");
    let region = coalesce(&[p.product("regionCode", "region_code"), p.product("region", "region")]);

    let mut x: HashMap<&'static str, Expr> = HashMap::new();
    x.insert("AvailabilityZone", p.text("lineItem/AvailabilityZone"));
    x.insert("BilledCost", billed.clone());
    x.insert("BillingAccountId", coalesce(&[account, sub_account.clone()]));
    x.insert("BillingAccountName", p.text("bill/PayerAccountName"));
    x.insert("BillingCurrency", p.text("lineItem/CurrencyCode"));
    x.insert("BillingPeriodStart", period_start);
    x.insert("BillingPeriodEnd", period_end);
    x.insert("ChargeCategory", category);
    x.insert("ChargeDescription", p.text("lineItem/LineItemDescription"));
    x.insert("ChargeFrequency", frequency);
    x.insert("ChargePeriodStart", start);
    x.insert("ChargePeriodEnd", end);
    x.insert(
        "CommitmentDiscountCategory",
        when(sp_arn.clone().is_not_null())
            .then(lit("Spend"))
            .when(ri_arn.clone().is_not_null())
            .then(lit("Usage"))
            .otherwise(none()),
    );
    x.insert("CommitmentDiscountId", commitment_id.clone());
    x.insert(
        "CommitmentDiscountType",
        when(sp_arn.clone().is_not_null())
            .then(lit("Savings Plan"))
            .when(ri_arn.is_not_null())
            .then(lit("Reserved Instance"))
            .otherwise(none()),
    );
    x.insert("CommitmentDiscountStatus", when(covered.clone()).then(lit("Used")).otherwise(none()));
    x.insert("ConsumedQuantity", when(is_usage.clone()).then(amount.clone()).otherwise(lit(NULL).cast(MONEY_DTYPE)));
    x.insert("ConsumedUnit", when(is_usage.clone()).then(pricing_unit.clone()).otherwise(none()));
    x.insert("ContractedCost", billed);
    x.insert("ContractedUnitPrice", p.money("lineItem/UnblendedRate"));
    x.insert("EffectiveCost", effective);
    x.insert("InvoiceId", p.text("bill/InvoiceId"));
    // AWS's own invoicing entities (Amazon Web Services, Inc., … EMEA SARL, …) issue the
    // provider's own charges; another entity (AWS Marketplace sellers) is a third party.
    let entity = p.text("bill/InvoicingEntity");
    x.insert(
        "InvoiceIssuerName",
        when(entity.clone().is_null().or(entity.clone().str().starts_with(lit("Amazon Web Services"))))
            .then(lit(AWS))
            .otherwise(entity),
    );
    x.insert("ListCost", list_cost);
    x.insert("ListUnitPrice", p.money("pricing/publicOnDemandRate"));
    x.insert(
        "PricingCategory",
        when(covered)
            .then(lit("Committed"))
            .when(t.clone().eq(lit("Usage")).and(ut.clone().str().contains(lit("spotusage"), true)))
            .then(lit("Dynamic"))
            .when(t.eq(lit("Usage")))
            .then(lit("Standard"))
            .otherwise(none()),
    );
    x.insert("PricingCurrency", coalesce(&[p.text("pricing/currency"), p.text("lineItem/CurrencyCode")]));
    x.insert("PricingQuantity", amount);
    x.insert("PricingUnit", pricing_unit);
    x.insert("ProviderName", lit(AWS));
    x.insert(
        "PublisherName",
        coalesce(&[p.text("lineItem/LegalEntity"), p.text("bill/BillingEntity"), lit("Amazon Web Services, Inc.")]),
    );
    x.insert("RegionId", region);
    x.insert("RegionName", p.product("location", "location"));
    x.insert("ResourceId", p.text("lineItem/ResourceId"));
    x.insert("ServiceCategory", service_cat);
    x.insert("ServiceName", coalesce(&[product_name, code]));
    x.insert("ServiceSubcategory", subcategory);
    x.insert("SkuId", p.product("sku", "sku"));
    x.insert("SkuPriceId", coalesce(&[p.text("pricing/RateCode"), p.text("pricing/RateId")]));
    x.insert("SubAccountId", sub_account);
    x.insert("SubAccountName", p.text("lineItem/UsageAccountName"));
    x.insert("Tags", if style == Style::Legacy { legacy_tags(&p) } else { cur2_tags(&p) });
    x.insert(schema::X_SOURCE, lit(input.source.to_string()));
    x.insert(schema::X_SOURCE_FORMAT, lit(format));
    x.insert(schema::X_SOURCE_OBJECT, lit(input.object.to_string()));
    x.insert(schema::X_SOURCE_ROW, col(ROW));
    x.insert(schema::X_COST_BASIS, lit("billed"));
    x.insert(schema::X_MODEL, model);
    x.insert(schema::X_TOKEN_TYPE, token_type);
    x.insert(schema::X_TOKEN_COUNT, tokens);
    x.insert(schema::X_SERVICE_TIER, batch);
    x.insert(schema::X_USER, p.text("lineItem/IamPrincipal"));
    x.insert(GPU, gpu);
    // Two steps: the FOCUS columns first, then what is derived from them.
    let names: Vec<&'static str> = x.keys().copied().filter(|k| *k != GPU).collect();
    let lf = p
        .cleaned()
        .with_columns(derived)
        .with_columns([derived_token_type])
        .select(x.drain().map(|(k, e)| e.alias(k)).collect::<Vec<_>>());
    let chain = when(col(GPU))
        .then(lit(TcoCategory::Compute.as_str()))
        .when(
            col(schema::X_TOKEN_TYPE)
                .is_not_null()
                .or(col("ServiceSubcategory").eq(lit("Generative AI")).fill_null(lit(false))),
        )
        .then(lit(TcoCategory::ModelApi.as_str()))
        .otherwise(category_expr(&[]));
    let mut out: HashMap<&'static str, Expr> = names.into_iter().map(|k| (k, col(k))).collect();
    out.insert(schema::X_BILLING_MONTH, billing_month_expr());
    out.insert(schema::X_TCO_CATEGORY, with_rules(chain, input));
    Ok(select_ledger(lf, out))
}

const GPU: &str = "__gpu";
const IS_USAGE: &str = "__is_usage";
const BEDROCK: &str = "__bedrock";
const UT: &str = "__usage_type_lower";
const INF: &str = "__inference_lower";
const TOKEN_TYPE: &str = "__token_type";

/// The local folder an object lives in, when the object is a local path (not a URL): the only
/// case where the parts of its delivery can be looked at beside it.
fn local_folder(input: &Input<'_>) -> Option<std::path::PathBuf> {
    let object = input.object.strip_prefix("file://").unwrap_or(input.object);
    if object.contains("://") {
        return None;
    }
    Path::new(object).parent().filter(|d| d.is_dir()).map(Path::to_path_buf)
}

fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Whether a file name is a CUR report part (`report-00001.csv.gz`, `.csv`, `.parquet`).
fn is_part(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.ends_with(".csv") || n.ends_with(".csv.gz") || n.ends_with(".csv.zip") || n.ends_with(".parquet"))
        && !n.ends_with("manifest.json")
}

/// A legacy CUR manifest: its assembly ID and report keys.
pub(crate) struct Manifest {
    /// `assemblyId`.
    pub assembly_id: String,
    /// `reportKeys`: the parts of this delivery.
    pub report_keys: Vec<String>,
}

/// Reads a CUR manifest (`…-Manifest.json`).
pub(crate) fn read_manifest(path: &Path, object: &str) -> Result<Manifest, SourceError> {
    let bad = |reason: String| SourceError::Unreadable { object: object.to_string(), reason };
    let text =
        std::fs::read_to_string(path).map_err(|source| SourceError::Io { path: path.display().to_string(), source })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a valid CUR manifest (JSON): {e}")))?;
    let assembly_id = v
        .get("assemblyId")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("not a CUR manifest: no `assemblyId`".to_string()))?
        .to_string();
    let keys = v
        .get("reportKeys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| bad("not a CUR manifest: no `reportKeys` list".to_string()))?;
    let mut report_keys = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let k = k.as_str().ok_or_else(|| bad(format!("reportKeys[{i}] is not a text")))?;
        report_keys.push(k.to_string());
    }
    Ok(Manifest { assembly_id, report_keys })
}

/// Checks a manifest against the parts beside it: every report key must exist (in the manifest's
/// folder, or in its `<assemblyId>/` subfolder for the month-level manifest), and every part in the
/// manifest's folder must be listed.
fn check_manifest(input: &Input<'_>) -> Result<(), SourceError> {
    let manifest = read_manifest(input.path, input.object)?;
    let Some(dir) = local_folder(input) else {
        tracing::debug!(object = input.object, "CUR manifest read; its parts are checked only for local deliveries");
        return Ok(());
    };
    for (i, key) in manifest.report_keys.iter().enumerate() {
        let name = file_name(key);
        let here = dir.join(name);
        let nested = dir.join(&manifest.assembly_id).join(name);
        if !here.is_file() && !nested.is_file() {
            return Err(SourceError::BadRecord {
                object: input.object.to_string(),
                location: format!("reportKeys[{i}]"),
                problem: format!(
                    "the manifest lists `{key}`, but that object is missing from the delivery (looked for {})",
                    here.display()
                ),
            });
        }
    }
    let listed: Vec<&str> = manifest.report_keys.iter().map(|k| file_name(k)).collect();
    for entry in
        std::fs::read_dir(&dir).map_err(|source| SourceError::Io { path: dir.display().to_string(), source })?
    {
        let entry = entry.map_err(|source| SourceError::Io { path: dir.display().to_string(), source })?;
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_file() && is_part(&name) && !listed.contains(&name.as_str()) {
            return Err(SourceError::Unreadable {
                object: dir.join(&name).display().to_string(),
                reason: format!(
                    "this part is not listed in the delivery's manifest {} (assembly {}): a stray or partial delivery",
                    input.object, manifest.assembly_id
                ),
            });
        }
    }
    Ok(())
}

/// Checks that a local CUR part is listed in the manifest beside it, when there is one.
fn check_part_listed(input: &Input<'_>) -> Result<(), SourceError> {
    let Some(dir) = local_folder(input) else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let me = file_name(input.object);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.to_ascii_lowercase().ends_with("manifest.json") {
            continue;
        }
        let path = entry.path();
        let manifest = read_manifest(&path, &path.display().to_string())?;
        if !manifest.report_keys.iter().any(|k| file_name(k) == me) {
            return Err(SourceError::Unreadable {
                object: input.object.to_string(),
                reason: format!(
                    "this part is not listed in the delivery's manifest {} (assembly {})",
                    path.display(),
                    manifest.assembly_id
                ),
            });
        }
    }
    Ok(())
}

/// The first instant of the month after `t` (UTC).
pub(crate) fn next_month(t: Expr) -> Expr {
    let y = t.clone().dt().year();
    let m = t.dt().month().cast(DataType::Int32);
    let ny = when(m.clone().eq(lit(12))).then(y.clone() + lit(1)).otherwise(y);
    let nm = when(m.clone().eq(lit(12))).then(lit(1)).otherwise(m + lit(1));
    let nm = when(nm.clone().lt(lit(10)))
        .then(concat_str([lit("0"), nm.clone().cast(DataType::String)], "", false))
        .otherwise(nm.cast(DataType::String));
    parse_datetime(concat_str([ny.cast(DataType::String), lit("-"), nm, lit("-01")], "", false), "%Y-%m-%d")
}

/// A ledger frame with no rows.
pub(crate) fn empty_ledger() -> LazyFrame {
    DataFrame::empty_with_schema(&schema::ledger_schema()).lazy()
}

/// Finds the first unreadable cost or date cell, or an empty mandatory one.
pub(crate) fn diagnose(input: &Input<'_>, style: Style) -> Result<Option<BadCell>, SourceError> {
    if style == Style::Legacy && is_manifest(input) {
        return Ok(None);
    }
    let p = plan(input, style, true)?;
    let mut checks: Vec<(String, Expr, &'static str)> = Vec::new();
    for c in DECIMALS {
        let name = style.name(c);
        if let Some(dtype) = p.dtypes.get(&name) {
            let raw = col(name.as_str()).cast(DataType::String);
            let parsed = if matches!(dtype, DataType::String) { raw.clone().cast(MONEY_DTYPE) } else { p.money(c) };
            let present = raw.clone().is_not_null().and(raw.neq(lit("")));
            checks.push((name, present.and(parsed.is_null()), "a decimal number"));
        }
    }
    for c in DATES {
        let name = style.name(c);
        if p.dtypes.contains_key(&name) {
            let raw = col(name.as_str()).cast(DataType::String);
            let required = *c == "lineItem/UsageStartDate";
            let bad = if required {
                p.time(c).is_null()
            } else {
                raw.clone().is_not_null().and(raw.neq(lit(""))).and(p.time(c).is_null())
            };
            checks.push((name, bad, "a date/time (ISO 8601, e.g. 2026-10-01T00:00:00Z)"));
        }
    }
    for c in ["lineItem/LineItemType", "lineItem/CurrencyCode", "lineItem/UnblendedCost"] {
        let name = style.name(c);
        if p.dtypes.contains_key(&name) {
            let raw = col(name.as_str()).cast(DataType::String);
            checks.push((name, raw.clone().is_null().or(raw.eq(lit(""))), "a value"));
        }
    }
    first_bad(p.lf, &checks, input.object)
}

/// The first row where one of `checks` holds, as a [`BadCell`].
pub(crate) fn first_bad(
    lf: LazyFrame,
    checks: &[(String, Expr, &'static str)],
    object: &str,
) -> Result<Option<BadCell>, SourceError> {
    if checks.is_empty() {
        return Ok(None);
    }
    let any_bad = checks.iter().map(|(_, b, _)| b.clone()).reduce(|a, b| a.or(b)).unwrap_or(lit(false));
    let mut sel = vec![col(ROW).cast(DataType::UInt64)];
    for (i, (name, bad, _)) in checks.iter().enumerate() {
        sel.push(bad.clone().alias(format!("__bad{i}")));
        sel.push(col(name.as_str()).cast(DataType::String).alias(format!("__raw{i}")));
    }
    let df = lf.filter(any_bad).select(sel).limit(1).collect().map_err(polars_err(object, "checking values"))?;
    if df.height() == 0 {
        return Ok(None);
    }
    let row = df.column(ROW).ok().and_then(|c| c.u64().ok().and_then(|c| c.get(0))).unwrap_or(0);
    for (i, (name, _, expected)) in checks.iter().enumerate() {
        let flagged =
            df.column(&format!("__bad{i}")).ok().and_then(|c| c.bool().ok().and_then(|c| c.get(0))).unwrap_or(false);
        if flagged {
            let value = df
                .column(&format!("__raw{i}"))
                .ok()
                .and_then(|s| s.str().ok().and_then(|s| s.get(0).map(str::to_string)))
                .filter(|s| !s.is_empty());
            return Ok(Some(BadCell { row, column: name.clone(), value, expected: expected.to_string() }));
        }
    }
    Ok(None)
}

impl Format for AwsCur {
    fn name(&self) -> &'static str {
        "aws-cur"
    }

    fn description(&self) -> &'static str {
        "AWS Cost and Usage Report, legacy format (CSV, CSV.gz; parts with a manifest per assembly)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["identity/LineItemId", "lineItem/LineItemType", "lineItem/UnblendedCost"]
            .iter()
            .all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        ledger(input, Style::Legacy, self.name())
    }

    fn diagnose(&self, input: &Input<'_>) -> Result<Option<BadCell>, SourceError> {
        diagnose(input, Style::Legacy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cur2_names_follow_aws_spelling() {
        assert_eq!(cur2_name("lineItem/UnblendedCost"), "line_item_unblended_cost");
        assert_eq!(cur2_name("lineItem/LineItemType"), "line_item_line_item_type");
        assert_eq!(cur2_name("reservation/ReservationARN"), "reservation_reservation_a_r_n");
        assert_eq!(cur2_name("savingsPlan/SavingsPlanARN"), "savings_plan_savings_plan_a_r_n");
        assert_eq!(cur2_name("pricing/publicOnDemandCost"), "pricing_public_on_demand_cost");
        assert_eq!(cur2_name("product/productFamily"), "product_product_family");
        assert_eq!(cur2_name("bill/PayerAccountId"), "bill_payer_account_id");
    }

    #[test]
    fn tag_keys_drop_the_user_prefix() {
        assert_eq!(tag_key("resourceTags/user:team"), Some("team"));
        assert_eq!(tag_key("resourceTags/aws:createdBy"), Some("aws:createdBy"));
        assert_eq!(tag_key("lineItem/UsageType"), None);
    }
}
