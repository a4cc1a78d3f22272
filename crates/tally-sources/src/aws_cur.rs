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
use tally_ledger::frame::{
    billing_month_expr, category_expr, contains_ignore_ascii_case, field_as, first_field_as, select_ledger,
    with_category_rules,
};
use tally_ledger::schema;
use tally_ledger::{TcoCategory, MONEY_DTYPE};

use crate::focus::{datetime_format, parse_datetime};
use crate::{BadCell, CsvHead, Format, Input, SourceError};

/// ProviderName (and InvoiceIssuerName for AWS's own charges), as in AWS's FOCUS exports.
pub(crate) const AWS: &str = "Amazon Web Services";

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
pub(crate) const DATES: &[&str] =
    &["bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageStartDate", "lineItem/UsageEndDate"];

/// FOCUS service category of AWS product codes (the converter's lookup, abridged).
pub(crate) const SERVICE_CATEGORIES: &[(&str, &[&str])] = &[
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

/// The FOCUS service category of a product code (`Other` when unknown); Bedrock usage (by
/// product family or code) is always AI and Machine Learning.
pub(crate) fn service_category(code: Option<&str>, bedrock: bool) -> &'static str {
    if bedrock {
        return "AI and Machine Learning";
    }
    code.and_then(|code| SERVICE_CATEGORIES.iter().find(|(_, codes)| codes.contains(&code)).map(|(cat, _)| *cat))
        .unwrap_or("Other")
}

fn service_category_column(cols: &mut [Column]) -> PolarsResult<Column> {
    let [code, bedrock] = cols else {
        polars_bail!(ComputeError: "the service category needs two columns, got {}", cols.len());
    };
    let code = code.cast(&DataType::String)?;
    let (codes, bedrock) = (code.str()?, bedrock.bool()?);
    let out: StringChunked =
        codes.iter().zip(bedrock.iter()).map(|(c, b)| Some(service_category(c, b.unwrap_or(false)))).collect();
    Ok(out.with_name(codes.name().clone()).into_column())
}

/// Whether an instance type (or usage type) names a GPU or accelerator family: one of
/// `GPU_FAMILIES` followed by a dot, at the start or after `:`, `.` or a space, optionally as
/// `ml.<family>.` (SageMaker), in any case. The same as `GPU_INSTANCE_REGEX` (a test checks),
/// without a regex: this runs on every row.
pub(crate) fn is_gpu_instance(s: &str) -> bool {
    let b = s.as_bytes();
    // `family.` (any ASCII case) at `r`.
    let family_at = |r: &[u8]| {
        GPU_FAMILIES
            .iter()
            .any(|f| r.len() > f.len() && r[..f.len()].eq_ignore_ascii_case(f.as_bytes()) && r[f.len()] == b'.')
    };
    let mut prev: Option<char> = None;
    for (i, ch) in s.char_indices() {
        let boundary = match prev {
            None => true,
            Some(p) => p == ':' || p == '.' || p.is_whitespace(),
        };
        prev = Some(ch);
        // Every family starts with one of these letters, as does `ml.`.
        if !boundary || !matches!(ch.to_ascii_lowercase(), 'p' | 'g' | 't' | 'i' | 'd' | 'm') {
            continue;
        }
        let rest = &b[i..];
        if family_at(rest) || (rest.len() > 3 && rest[..3].eq_ignore_ascii_case(b"ml.") && family_at(&rest[3..])) {
            return true;
        }
    }
    false
}

/// The text columns of one row of a Bedrock enrichment (see [`bedrock_udf`]).
struct BedrockRow<'a> {
    texts: Vec<Option<&'a str>>,
}

impl<'a> BedrockRow<'a> {
    fn text(&self, i: usize) -> Option<&'a str> {
        self.texts.get(i).copied().flatten()
    }
}

/// A per-row function of Bedrock line items, as one expression: `inputs[0]` is the Bedrock flag
/// (rows where it is not true give null), the others are text columns, read by index (from 1).
/// One pass in Rust instead of a dozen string expressions over every row.
fn bedrock_udf<const N: usize>(inputs: [Expr; N], f: for<'a> fn(&BedrockRow<'a>) -> Option<&'a str>) -> Expr {
    map_multiple(
        move |cols: &mut [Column]| {
            let Some((flag, rest)) = cols.split_first() else {
                polars_bail!(ComputeError: "a Bedrock enrichment needs its flag column");
            };
            let flag = flag.bool()?;
            let texts: Vec<Column> = rest.iter().map(|c| c.cast(&DataType::String)).collect::<PolarsResult<_>>()?;
            let texts: Vec<&StringChunked> = texts.iter().map(|c| c.str()).collect::<PolarsResult<_>>()?;
            let mut iters: Vec<_> = texts.iter().map(|t| t.iter()).collect();
            let mut out = StringChunkedBuilder::new(flag.name().clone(), flag.len());
            let mut row = BedrockRow { texts: Vec::with_capacity(N) };
            for is_bedrock in flag.iter() {
                row.texts.clear();
                row.texts.push(None);
                row.texts.extend(iters.iter_mut().map(|it| it.next().flatten()));
                match is_bedrock {
                    Some(true) => out.append_option(f(&row)),
                    _ => out.append_null(),
                }
            }
            Ok(out.finish().into_column())
        },
        inputs,
        first_field_as(DataType::String),
    )
}

/// ASCII case-insensitive substring search in an optional text.
pub(crate) fn contains_ignore_case(text: Option<&str>, needle: &str) -> bool {
    text.is_some_and(|t| contains_ignore_ascii_case(t, needle))
}

/// The token type of a Bedrock usage type (`USE1-Claude4.6Sonnet-cache-read-input-token-count`)
/// or inference type (`Cache read input tokens`): cached input, cache write, input or output.
pub(crate) fn bedrock_token_type<'a>(usage_type: Option<&str>, inference: Option<&str>) -> Option<&'a str> {
    let either = |u: &[&str], i: &str| {
        u.iter().any(|n| contains_ignore_case(usage_type, n)) || contains_ignore_case(inference, i)
    };
    if either(&["cacheread", "cache-read"], "cache read") {
        Some("cached_input")
    } else if either(&["cachewrite", "cache-write"], "cache write") {
        Some("cache_write")
    } else if either(&["input"], "input") {
        Some("input")
    } else if either(&["output"], "output") {
        Some("output")
    } else {
        None
    }
}

/// The model named in a Bedrock usage type: `USE1-Claude4.6Sonnet-input-tokens` →
/// `Claude4.6Sonnet` (a region prefix of 2 to 4 capitals and an optional digit, then the
/// shortest name followed by `-input`, `-output` or `-cache`).
pub(crate) fn model_from_usage_type(usage_type: &str) -> Option<&str> {
    let b = usage_type.as_bytes();
    let caps = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(2..=4).contains(&caps) {
        return None;
    }
    let mut i = caps;
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if b.get(i) != Some(&b'-') {
        return None;
    }
    let start = i + 1;
    if !b.get(start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let mut j = start + 1;
    loop {
        let rest = &b[j..];
        if [&b"-input"[..], b"-output", b"-cache"].iter().any(|s| rest.starts_with(s)) {
            return usage_type.get(start..j);
        }
        match b.get(j) {
            Some(c) if c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-' => j += 1,
            _ => return None,
        }
    }
}

/// Line item types by FOCUS charge category (anything else is an `Adjustment`).
pub(crate) const USAGE_TYPES: &[&str] = &["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation"];
pub(crate) const PURCHASE_TYPES: &[&str] = &["Fee", "RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee"];
pub(crate) const CREDIT_TYPES: &[&str] = &[
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
#[cfg(test)]
const GPU_INSTANCE_REGEX: &str = r"(?i)(^|[:.\s])(ml\.)?(p2|p3|p3dn|p4d|p4de|p5|p5e|p5en|p6|g4dn|g4ad|g5|g5g|g6|g6e|gr6|trn1|trn1n|trn2|inf1|inf2|dl1|dl2q)\.";
/// EC2 and SageMaker GPU and accelerator instance families.
const GPU_FAMILIES: &[&str] = &[
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6", "g4dn", "g4ad", "g5", "g5g", "g6", "g6e", "gr6",
    "trn1", "trn1n", "trn2", "inf1", "inf2", "dl1", "dl2q",
];

pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

pub(crate) fn is_manifest(input: &Input<'_>) -> bool {
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
    // Converted batch by batch as the scan streams (no copy of the column held in memory, rows
    // in the file's order).
    for name in maps {
        lf = lf.with_column(
            col(name.as_str())
                .map(
                    |c: Column| {
                        let texts = (0..c.len())
                            .map(|i| c.get(i).map(|v| map_to_json(&v)))
                            .collect::<PolarsResult<Vec<Option<String>>>>()?;
                        Ok(Series::new(c.name().clone(), texts).into_column())
                    },
                    field_as(DataType::String),
                )
                .alias(name.as_str()),
        );
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

/// The tag key a CUR tag column stands for: `resourceTags/user:team` → `team`,
/// `resourceTags/aws:createdBy` → `aws:createdBy`.
pub fn tag_key(column: &str) -> Option<&str> {
    let rest = column.strip_prefix("resourceTags/")?;
    Some(rest.strip_prefix("user:").unwrap_or(rest)).filter(|k| !k.is_empty())
}

/// The `Tags` JSON text of a legacy CUR row, from its `resourceTags/…` columns (null when none).
///
/// Built in one pass over the tag columns in Rust: the same text as a concatenation of Polars
/// string expressions (three per tag), at a fraction of the cost per row.
fn legacy_tags(plan: &Plan) -> Expr {
    let mut names: Vec<&String> = plan.dtypes.keys().filter(|n| tag_key(n).is_some()).collect();
    names.sort();
    let keys: Vec<String> = names.iter().filter_map(|n| tag_key(n)).map(json_string).collect();
    // Empty values are null in the cleaned text columns, and a null tag is left out.
    let inputs: Vec<Expr> = names.iter().map(|n| plan.text(n)).collect();
    if inputs.is_empty() {
        return lit(NULL).cast(DataType::String);
    }
    map_multiple(move |cols: &mut [Column]| tags_json_column(&keys, cols), inputs, first_field_as(DataType::String))
}

/// `{"key":"value",…}` per row from one text column per key; null where every value is null.
fn tags_json_column(keys: &[String], cols: &mut [Column]) -> PolarsResult<Column> {
    let texts: Vec<Column> = cols.iter().map(|c| c.cast(&DataType::String)).collect::<PolarsResult<_>>()?;
    let texts: Vec<&StringChunked> = texts.iter().map(|c| c.str()).collect::<PolarsResult<_>>()?;
    let height = cols.first().map(|c| c.len()).unwrap_or(0);
    let name = cols.first().map(|c| c.name().clone()).unwrap_or_default();
    let mut iters: Vec<_> = texts.iter().map(|t| t.iter()).collect();
    let mut out = StringChunkedBuilder::new(name, height);
    let mut buf = String::new();
    for _ in 0..height {
        buf.clear();
        for (key, values) in keys.iter().zip(iters.iter_mut()) {
            if let Some(Some(v)) = values.next() {
                buf.push(if buf.is_empty() { '{' } else { ',' });
                buf.push_str(key);
                buf.push(':');
                push_json_string(&mut buf, v);
            }
        }
        if buf.is_empty() {
            out.append_null();
        } else {
            buf.push('}');
            out.append_value(buf.as_str());
        }
    }
    Ok(out.finish().into_column())
}

/// `s` as a JSON string literal, quotes included.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

/// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as `\u00XX`.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
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
    let inference = p.product("inference_type", "inference_type");
    // Spot usage (`USE1-SpotUsage:g5.xlarge`), in any case: one pass over the text.
    derived.push(
        usage_type
            .clone()
            .map(
                |c: Column| {
                    let out: BooleanChunked =
                        c.str()?.iter().map(|v| Some(contains_ignore_case(v, "spotusage"))).collect();
                    Ok(out.with_name(c.name().clone()).into_column())
                },
                field_as(DataType::Boolean),
            )
            .alias(SPOT),
    );
    let token_type = bedrock_udf([bedrock.clone(), usage_type.clone(), inference.clone()], |r| {
        bedrock_token_type(r.text(1), r.text(2))
    });
    let derived_token_type = token_type.alias(TOKEN_TYPE);
    let token_type = col(TOKEN_TYPE);
    let model = bedrock_udf([bedrock.clone(), p.product("model", "model"), usage_type.clone()], |r| {
        r.text(1).or_else(|| model_from_usage_type(r.text(2)?))
    });
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
    let batch = bedrock_udf([bedrock.clone(), usage_type.clone(), inference], |r| {
        (contains_ignore_case(r.text(1), "batch") || contains_ignore_case(r.text(2), "batch")).then_some("batch")
    });

    let service_cat =
        map_multiple(service_category_column, [code.clone(), bedrock.clone()], first_field_as(DataType::String));
    let subcategory = when(bedrock.clone())
        .then(lit("Generative AI"))
        .when(code.clone().eq(lit("AmazonEC2")).and(family.clone().eq(lit("Compute Instance")).fill_null(lit(false))))
        .then(lit("Virtual Machines"))
        .otherwise(lit(NULL).cast(DataType::String));
    let instance = coalesce(&[p.product("instanceType", "instance_type"), usage_type.clone()]).fill_null(lit(""));
    let gpu = instance
        .map(
            |c: Column| {
                let out: BooleanChunked = c.str()?.iter().map(|v| v.map(is_gpu_instance)).collect();
                Ok(out.with_name(c.name().clone()).into_column())
            },
            field_as(DataType::Boolean),
        )
        .and(is_usage.clone());

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
            .when(t.clone().eq(lit("Usage")).and(col(SPOT)))
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
        .otherwise(category_expr());
    let mut out: HashMap<&'static str, Expr> = names.into_iter().map(|k| (k, col(k))).collect();
    out.insert(schema::X_BILLING_MONTH, billing_month_expr());
    out.insert(schema::X_TCO_CATEGORY, chain);
    Ok(with_category_rules(select_ledger(lf, out), input.category_rules))
}

const GPU: &str = "__gpu";
const IS_USAGE: &str = "__is_usage";
const BEDROCK: &str = "__bedrock";
const SPOT: &str = "__spot";
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
            // Leading blanks as the CSV reader skips them (` 7.25` is read, and is not the bad cell).
            let raw = col(name.as_str()).cast(DataType::String).str().strip_chars_start(lit(" \t"));
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

    fn direct(&self, input: &Input<'_>) -> Result<Option<crate::Direct>, SourceError> {
        // A manifest has no rows (its checks ran when it was planned).
        if is_manifest(input) {
            return Ok(Some(crate::Direct::empty()));
        }
        let head = CsvHead::read(input.path, input.object)?;
        Ok(crate::aws_cur_csv::open(input, &head).map(|r| crate::Direct(Some(Box::new(r)))))
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

    /// The Bedrock enrichment as the Polars expressions it replaced, kept as the reference.
    fn reference_bedrock(bedrock: Expr, usage_type: Expr, inference: Expr, model: Expr) -> [Expr; 3] {
        let ut = usage_type.clone().fill_null(lit("")).str().to_lowercase();
        let inf = inference.fill_null(lit("")).str().to_lowercase();
        let token_type = when(
            ut.clone()
                .str()
                .contains(lit("cache-?read"), false)
                .or(inf.clone().str().contains(lit("cache read"), true)),
        )
        .then(lit("cached_input"))
        .when(
            ut.clone()
                .str()
                .contains(lit("cache-?write"), false)
                .or(inf.clone().str().contains(lit("cache write"), true)),
        )
        .then(lit("cache_write"))
        .when(ut.clone().str().contains(lit("input"), true).or(inf.clone().str().contains(lit("input"), true)))
        .then(lit("input"))
        .when(ut.clone().str().contains(lit("output"), true).or(inf.clone().str().contains(lit("output"), true)))
        .then(lit("output"))
        .otherwise(lit(NULL).cast(DataType::String));
        let none = || lit(NULL).cast(DataType::String);
        let from_usage =
            usage_type.str().extract(lit(r"^[A-Z]{2,4}[0-9]?-([A-Za-z][A-Za-z0-9.\-]*?)-(?:input|output|cache)"), 1);
        [
            when(bedrock.clone()).then(token_type).otherwise(none()),
            when(bedrock.clone()).then(coalesce(&[model, from_usage])).otherwise(none()),
            when(bedrock.and(ut.str().contains(lit("batch"), true).or(inf.str().contains(lit("batch"), true))))
                .then(lit("batch"))
                .otherwise(none()),
        ]
    }

    #[test]
    fn the_bedrock_enrichment_agrees_with_the_expressions_it_replaced() -> PolarsResult<()> {
        let usage_types = [
            None,
            Some(""),
            Some("USE1-Claude4.6Sonnet-input-tokens"),
            Some("USE1-Claude4.6Sonnet-output-tokens"),
            Some("USW2-Claude4.6Sonnet-cache-read-input-token-count"),
            Some("USE1-Claude4.6Sonnet-cache-write-input-token-count"),
            Some("EU-Nova-Pro-v1.0-input-tokens-batch"),
            Some("APN1-MetaLlama3-70B-Instruct-output-tokens"),
            Some("USE1-cacheread-x"),
            Some("usE1-Claude-input"),
            Some("ABCDE-x-input"),
            Some("US1-1abc-input"),
            Some("USE1-Model-Input-tokens"),
            Some("USE1-a-cache"),
            Some("USE1-a"),
            Some("USE1-TitanEmbed_v2-input"),
            Some("BoxUsage:p5.48xlarge"),
            Some("USE1-Éclair-input"),
        ];
        let inferences = [
            None,
            Some(""),
            Some("Cache read input tokens"),
            Some("Cache Write"),
            Some("Input"),
            Some("OUTPUT"),
            Some("Batch input"),
        ];
        let models = [None, Some("Claude Sonnet 4.6"), Some("")];
        let (mut b, mut u, mut i, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for bedrock in [true, false] {
            for ut in usage_types {
                for inf in inferences {
                    for model in models {
                        b.push(bedrock);
                        u.push(ut);
                        i.push(inf);
                        m.push(model);
                    }
                }
            }
        }
        let df = df!("b" => b, "u" => u, "i" => i, "m" => m)?;
        let [tt, model, batch] = reference_bedrock(col("b"), col("u"), col("i"), col("m"));
        let fast_tt = bedrock_udf([col("b"), col("u"), col("i")], |r| bedrock_token_type(r.text(1), r.text(2)));
        let fast_model =
            bedrock_udf([col("b"), col("m"), col("u")], |r| r.text(1).or_else(|| model_from_usage_type(r.text(2)?)));
        let fast_batch = bedrock_udf([col("b"), col("u"), col("i")], |r| {
            (contains_ignore_case(r.text(1), "batch") || contains_ignore_case(r.text(2), "batch")).then_some("batch")
        });
        let out = df
            .lazy()
            .select([
                tt.alias("tt"),
                fast_tt.alias("fast_tt"),
                model.alias("model"),
                fast_model.alias("fast_model"),
                batch.alias("batch"),
                fast_batch.alias("fast_batch"),
            ])
            .collect()?;
        for name in ["tt", "model", "batch"] {
            let want: Vec<Option<&str>> = out.column(name)?.str()?.iter().collect();
            let got: Vec<Option<&str>> = out.column(&format!("fast_{name}"))?.str()?.iter().collect();
            assert_eq!(got, want, "{name}");
            assert!(want.iter().any(Option::is_some), "{name} has values");
        }
        assert_eq!(model_from_usage_type("USE1-Claude4.6Sonnet-input-tokens"), Some("Claude4.6Sonnet"));
        Ok(())
    }

    #[test]
    fn gpu_families_are_found_as_the_regex_finds_them() -> PolarsResult<()> {
        let mut samples: Vec<String> = Vec::new();
        let fronts = ["", "USE1-BoxUsage:", "ml.", "x ", "a.", "ab", "BoxUsage:ML.", "Usage:"];
        let backs = [".xlarge", ".48XLARGE", "", "x.large", ".", "-large"];
        for front in fronts {
            for fam in GPU_FAMILIES.iter().copied().chain(["P5", "G6E", "m5", "c7g", "p", "trn", "gr", "dl2", "ml"]) {
                for back in backs {
                    samples.push(format!("{front}{fam}{back}"));
                }
            }
        }
        samples.extend(
            [
                "",
                "p4d",
                "ml.p4d.24xlarge",
                "USE1-SpotUsage:g5.xlarge",
                "t3.micro",
                "\u{a0}g5.x",
                "éep5.x",
                "é:p5.x",
                "\tp5.x",
                "\u{b}p5.x",
                "\u{c}g5.x",
                "\rinf2.x",
                "\u{1f}p5.x",
                "x\u{85}p5.x",
            ]
            .map(String::from),
        );
        let df = df!("s" => &samples)?;
        let out =
            df.lazy().select([col("s").str().contains(lit(GPU_INSTANCE_REGEX), false).alias("regex")]).collect()?;
        let regex: Vec<Option<bool>> = out.column("regex")?.bool()?.iter().collect();
        for (s, want) in samples.iter().zip(regex) {
            assert_eq!(Some(is_gpu_instance(s)), want, "{s:?}");
        }
        assert!(is_gpu_instance("ml.p4d.24xlarge") && !is_gpu_instance("t3.micro"));
        Ok(())
    }

    #[test]
    fn service_categories_come_from_the_product_code_and_bedrock_wins() {
        assert_eq!(service_category(Some("AmazonEC2"), false), "Compute");
        assert_eq!(service_category(Some("AmazonS3"), false), "Storage");
        assert_eq!(service_category(Some("AWSSupportBusiness"), false), "Other");
        assert_eq!(service_category(Some("SomeMarketplaceCode"), true), "AI and Machine Learning");
        assert_eq!(service_category(Some("SomeMarketplaceCode"), false), "Other");
        assert_eq!(service_category(None, false), "Other");
        for (cat, codes) in SERVICE_CATEGORIES {
            for code in *codes {
                assert_eq!(service_category(Some(code), false), *cat, "{code}");
            }
        }
    }

    #[test]
    fn legacy_tags_become_one_json_object_per_row_with_values_escaped() -> PolarsResult<()> {
        let keys = vec![json_string("team"), json_string("cost \"centre\"")];
        let team = Column::new("a".into(), [Some("search"), None, Some("a\\b \"q\"\n\u{1}")]);
        let centre = Column::new("b".into(), [Some("cc-1"), None, None]);
        let out = tags_json_column(&keys, &mut [team, centre])?;
        let texts: Vec<Option<String>> = out.str()?.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(texts[0].as_deref(), Some(r#"{"team":"search","cost \"centre\"":"cc-1"}"#));
        assert_eq!(texts[1], None, "a row without tags has no Tags");
        let parsed: serde_json::Value = serde_json::from_str(texts[2].as_deref().unwrap_or("")).unwrap_or_default();
        assert_eq!(parsed, serde_json::json!({"team": "a\\b \"q\"\n\u{1}"}));
        Ok(())
    }
}
