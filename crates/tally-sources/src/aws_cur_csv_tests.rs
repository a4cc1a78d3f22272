//! The direct CUR reader against the Polars plan: the same ledger, column by column, on the
//! fixtures and on generated rows that mix every line item type, Bedrock and GPU usage, quoting,
//! empty values and awkward numbers; and the inputs it must leave to the plan.

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use tally_ledger::frame::{collect_streaming, scan_ledger, CategoryRule};

use crate::convert::{convert_direct, convert_with};
use crate::{format_by_name, Input};

const HEADER: &[&str] = &[
    "identity/LineItemId",
    "bill/InvoiceId",
    "bill/InvoicingEntity",
    "bill/BillingEntity",
    "bill/PayerAccountId",
    "bill/PayerAccountName",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/UsageAccountName",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/LineItemDescription",
    "lineItem/LegalEntity",
    "lineItem/IamPrincipal",
    "product/ProductName",
    "product/instanceType",
    "product/model",
    "product/inference_type",
    "product/productFamily",
    "product/regionCode",
    "product/region",
    "product/location",
    "product/sku",
    "pricing/RateCode",
    "pricing/RateId",
    "pricing/currency",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "pricing/unit",
    "reservation/EffectiveCost",
    "reservation/ReservationARN",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "resourceTags/user:team",
    "resourceTags/aws:createdBy",
    "resourceTags/user:project",
];

/// The values each column cycles through (a column's value in row `i` is picked with a stride
/// of its own, so that rows mix them).
fn values(column: &str) -> &'static [&'static str] {
    match column {
        "identity/LineItemId" => &["li-1", "li-2", "li-3"],
        "bill/InvoiceId" => &["EUINUS26-1000187", "", "INV-2"],
        "bill/InvoicingEntity" => {
            &["Amazon Web Services, Inc.", "Amazon Web Services EMEA SARL", "", "Acme Seller LLC"]
        }
        "bill/BillingEntity" => &["AWS", "AWS Marketplace", ""],
        "bill/PayerAccountId" => &["210987654321", "210987654322"],
        "bill/PayerAccountName" => &["", "Northwind Payer"],
        "bill/BillingPeriodStartDate" => &["2026-10-01T00:00:00Z"],
        "bill/BillingPeriodEndDate" => &["2026-11-01T00:00:00Z"],
        "lineItem/UsageAccountId" => &["884128468242", "124095816904", ""],
        "lineItem/UsageAccountName" => &["", "support-bot"],
        "lineItem/LineItemType" => &[
            "Usage",
            "DiscountedUsage",
            "SavingsPlanCoveredUsage",
            "SavingsPlanNegation",
            "SavingsPlanRecurringFee",
            "SavingsPlanUpfrontFee",
            "RIFee",
            "Fee",
            "Tax",
            "Credit",
            "Refund",
            "BundledDiscount",
            "EdpDiscount",
        ],
        "lineItem/UsageStartDate" => &["2026-10-05T13:00:00Z", "2026-10-31T23:00:00Z", "2026-10-01T00:00:00Z"],
        "lineItem/UsageEndDate" => &["2026-10-05T14:00:00Z", "2026-10-06T00:00:00Z", "2026-11-01T00:00:00Z"],
        "lineItem/ProductCode" => &[
            "AmazonEC2",
            "AmazonBedrock",
            "AmazonS3",
            "AmazonSageMaker",
            "AWSKMS",
            "AmazonCloudWatch",
            "cw7n3zvcp2tbp4rlbfpnsphqz",
        ],
        "lineItem/UsageType" => &[
            "USE1-BoxUsage:g5.xlarge",
            "USE1-SpotUsage:p4d.24xlarge",
            "USE1-Claude4.6Sonnet-input-tokens",
            "USE1-Claude4.6Sonnet-cache-read-input-token-count",
            "EU-Llama3-70B-output-tokens-batch",
            "USW2-NovaPro-cache-write-input-token-count",
            "ml.g5.2xlarge-Hosting",
            "TimedStorage-ByteHrs",
            "",
        ],
        "lineItem/AvailabilityZone" => &["us-east-1a", "", "eu-west-1b-extended-zone"],
        "lineItem/ResourceId" => &[
            "i-0abc123",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6",
            "",
            "support-assistant-9335c9db",
        ],
        "lineItem/UsageAmount" => &[
            "1",
            "0.5",
            "1234.56789",
            "1e3",
            "",
            "-2",
            "0.0000000000000000001",
            "123456789.1234567890123456789",
            " 7.25",
        ],
        "lineItem/CurrencyCode" => &["USD", "USD", "EUR"],
        "lineItem/UnblendedRate" => &["0.023", "", "1E-6"],
        "lineItem/UnblendedCost" => &["0.0583054230528", "-5.25", "0", "12.3456789012", "1E-7", "11826"],
        "lineItem/LineItemDescription" => &[
            "$0.023 per GB-Mo TimedStorage-ByteHrs in US East (N. Virginia)",
            "",
            "Sign up charge for subscription: 1234, planId: 99",
            "Tax for \"product\" AmazonEC2",
            "Claude Sonnet 4.6 input tokens",
        ],
        "lineItem/LegalEntity" => &["", "Amazon Web Services, Inc.", "Anthropic, PBC"],
        "lineItem/IamPrincipal" => &["", "arn:aws:iam::884128468242:role/support-bot"],
        "product/ProductName" => {
            &["Amazon Elastic Compute Cloud", "", "Amazon Bedrock", "Claude Sonnet 4.6 (Amazon Bedrock Edition)"]
        }
        "product/instanceType" => &["g5.xlarge", "m5.large", "", "p5.48xlarge", "ml.g6.xlarge"],
        "product/model" => &["", "Claude Sonnet 4.6", "Llama 3 70B"],
        "product/inference_type" => &["", "Input tokens", "Output tokens", "Cache read", "batch inference"],
        "product/productFamily" => &["Compute Instance", "Amazon Bedrock", "Storage", "", "ML Instance"],
        "product/regionCode" => &["us-east-1", "", "eu-west-1"],
        "product/region" => &["", "us-west-2"],
        "product/location" => &["US East (N. Virginia)", "", "EU (Ireland)"],
        "product/sku" => &["QYWRDF9FHEJVC9YU", "", "QMFBC9ZTMCV4UBVG"],
        "pricing/RateCode" => &["QYWRDF9FHEJVC9YU.JRTCKXETXF.6YS6EN2CT7", ""],
        "pricing/RateId" => &["123456789", ""],
        "pricing/currency" => &["", "USD"],
        "pricing/publicOnDemandCost" => &["0.0583054230528", "", "14.2"],
        "pricing/publicOnDemandRate" => &["0.023", "", "3"],
        "pricing/unit" => &["Hrs", "1K tokens", "1M tokens", "tokens", "GB-Mo", "", "Million Tokens"],
        "reservation/EffectiveCost" => &["", "0.75", "1.5"],
        "reservation/ReservationARN" => &["", "arn:aws:ec2:us-east-1:210987654321:reserved-instances/abc"],
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod" => &["", "10.5"],
        "reservation/UnusedRecurringFee" => &["2.25", ""],
        "savingsPlan/SavingsPlanARN" => &["", "arn:aws:savingsplans::210987654321:savingsplan/xyz"],
        "savingsPlan/SavingsPlanEffectiveCost" => &["", "0.42"],
        "savingsPlan/TotalCommitmentToDate" => &["100", ""],
        "savingsPlan/UsedCommitment" => &["", "97.5"],
        "resourceTags/user:team" => {
            &["", "alpha", "has \"quotes\"", "comma, inside", "line\nbreak", "ünïcödé", "back\\slash"]
        }
        "resourceTags/aws:createdBy" => &["", "AssumedRole:AROA:bot", "tab\there"],
        "resourceTags/user:project" => &["support-assistant", "", "legal-summarizer"],
        _ => &[""],
    }
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A legacy CUR CSV of `rows` rows mixing [`values`].
fn generated(rows: usize) -> String {
    generated_with(rows, |_, _| None)
}

/// [`generated`], with the values `edit` gives (by row and column) instead.
fn generated_with(rows: usize, edit: impl Fn(usize, &str) -> Option<&'static str>) -> String {
    let mut out = HEADER.join(",");
    out.push('\n');
    for i in 0..rows {
        let fields: Vec<String> = HEADER
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let vs = values(name);
                csv_field(edit(i, name).unwrap_or(vs[(i * (2 * c + 3) + i / 7) % vs.len()]))
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The input for a local copy of `object`.
fn input<'a>(path: &'a Path, object: &'a str, category_rules: &'a [CategoryRule], quantities_only: bool) -> Input<'a> {
    Input { path, object, source: "cur", category_rules, prices: None, quantities_only }
}

fn read(path: &Path) -> DataFrame {
    collect_streaming(scan_ledger(&[path.to_path_buf()]).unwrap()).unwrap()
}

fn assert_same(direct: &DataFrame, polars: &DataFrame) {
    assert_eq!(direct.schema(), polars.schema());
    assert_eq!(direct.height(), polars.height());
    for c in polars.columns() {
        let d = direct.column(c.name()).unwrap();
        if !d.equals_missing(c) {
            let rows: Vec<String> = (0..d.len())
                .filter(|&i| d.get(i).ok() != c.get(i).ok())
                .take(5)
                .map(|i| format!("row {i}: direct {:?}, plan {:?}", d.get(i).ok(), c.get(i).ok()))
                .collect();
            panic!("column {} differs: {}", c.name(), rows.join("; "));
        }
    }
}

/// Converts `files` with the direct reader (which must not decline) and with the Polars plan,
/// and checks that both give the same ledger and totals.
fn check(files: &[(PathBuf, String)], rules: &[CategoryRule], quantities_only: bool, chunk: usize) -> DataFrame {
    let format = format_by_name("aws-cur").unwrap();
    let inputs: Vec<Input<'_>> =
        files.iter().map(|(path, object)| input(path, object, rules, quantities_only)).collect();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("direct.parquet"), dir.path().join("polars.parquet"));
    let direct = convert_direct(format, &inputs, &a, chunk).unwrap().expect("the direct reader declined");
    let polars = convert_with(format, &inputs, &b, None).unwrap();
    assert_eq!(direct, polars);
    let (a, b) = (read(&a), read(&b));
    assert_same(&a, &b);
    a
}

fn write(dir: &Path, name: &str, text: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    (path, format!("s3://bills/cur/{name}"))
}

#[test]
fn generated_rows_give_the_plans_ledger_in_one_chunk_or_many() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cur-00001.csv", &generated(900));
    let whole = check(std::slice::from_ref(&file), &[], false, crate::chunked::CHUNK);
    assert_eq!(whole.height(), 900);
    // Chunks of a few rows: row numbers run on across chunks, and some cuts fall on the
    // newline inside a quoted tag (the reader declines such a cut, and the plan reads the file).
    for chunk in [4096, 20_000] {
        let dir2 = tempfile::tempdir().unwrap();
        let plain = generated(900).replace("line\nbreak", "line break");
        let file = write(dir2.path(), "cur-00001.csv", &plain);
        check(std::slice::from_ref(&file), &[], false, chunk);
    }
}

#[test]
fn row_numbers_are_written_delta_encoded() {
    // Plain, 900 row numbers take 7,200 bytes (about 3,600 once compressed); delta-encoded, a
    // few bytes per 128. Their values are checked against the plan's by the other tests.
    let dir = tempfile::tempdir().unwrap();
    let text = generated(900).replace("line\nbreak", "line break");
    let (path, object) = write(dir.path(), "cur-00001.csv", &text);
    let format = format_by_name("aws-cur").unwrap();
    let dest = dir.path().join("direct.parquet");
    let inputs = [input(&path, &object, &[], false)];
    convert_direct(format, &inputs, &dest, crate::chunked::CHUNK).unwrap().expect("the direct reader declined");
    let meta = polars_parquet::parquet::read::read_metadata(&mut std::fs::File::open(&dest).unwrap()).unwrap();
    let size: i64 = meta
        .row_groups
        .iter()
        .flat_map(|g| g.parquet_columns())
        .filter(|c| c.descriptor().path_in_schema.iter().any(|p| p == "x_source_row"))
        .map(|c| c.compressed_size())
        .sum();
    assert!(size > 0 && size < 200, "x_source_row takes {size} bytes");
    let rows = read(&dest);
    let numbers: Vec<Option<i64>> = rows.column("x_source_row").unwrap().i64().unwrap().iter().collect();
    assert_eq!(numbers, (1..=900).map(Some).collect::<Vec<_>>());
}

#[test]
fn a_newline_inside_quotes_where_a_block_is_cut_is_read_whole() {
    // Every record has a quoted newline: the reader checks a chunk in blocks cut at a newline,
    // and some of those cuts fall inside the quotes (the record is then split again, whole).
    let text = generated_with(600, |_, name| (name == "resourceTags/user:team").then_some("line\nbreak"));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cur-00001.csv", &text);
    let df = check(std::slice::from_ref(&file), &[], false, crate::chunked::CHUNK);
    let tags = df.column("Tags").unwrap().str().unwrap();
    assert!(tags.iter().all(|t| t.is_some_and(|t| t.contains(r#""team":"line\nbreak""#))));
}

#[test]
fn several_parts_number_their_rows_each_from_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = generated(300).replace("line\nbreak", "line break");
    let files = [write(dir.path(), "cur-00001.csv", &text), write(dir.path(), "cur-00002.csv", &text)];
    let df = check(&files, &[], false, 3000);
    let rows = df.column("x_source_row").unwrap().i64().unwrap();
    assert_eq!((rows.get(0), rows.get(299), rows.get(300), rows.get(599)), (Some(1), Some(300), Some(1), Some(300)));
}

#[test]
fn user_rules_and_quantities_only_give_the_plans_ledger() {
    let rules: Vec<CategoryRule> = serde_json::from_str(
        r#"[{"when": {"column": "ServiceSubcategory", "present": false}, "category": "people"},
            {"when": {"tag": "team", "equals": "alpha"}, "category": "security_compliance"}]"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cur-00001.csv", &generated(400));
    let df = check(std::slice::from_ref(&file), &rules, false, crate::chunked::CHUNK);
    assert!(df.column("x_tco_category").unwrap().str().unwrap().iter().any(|c| c == Some("people")));
    check(std::slice::from_ref(&file), &[], true, crate::chunked::CHUNK);
    // In chunks, with rules (the rows are numbered before the rules see them) and without
    // (the row numbers are encoded last), over two parts.
    let plain = generated(400).replace("line\nbreak", "line break");
    let files = [write(dir.path(), "cur-00002.csv", &plain), write(dir.path(), "cur-00003.csv", &plain)];
    for rules in [&rules[..], &[]] {
        let df = check(&files, rules, false, 4096);
        let rows: Vec<Option<i64>> = df.column("x_source_row").unwrap().i64().unwrap().iter().collect();
        let expected: Vec<Option<i64>> = (1..=400).chain(1..=400).map(Some).collect();
        assert_eq!(rows, expected);
    }
}

#[test]
fn the_fixture_deliveries_give_the_plans_ledger() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cloud/aws-cur/northwind-cur/20261101-20261201");
    let dir = tempfile::tempdir().unwrap();
    for delivery in std::fs::read_dir(&root).unwrap() {
        let delivery = delivery.unwrap().path();
        let mut files = Vec::new();
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&delivery).unwrap().map(|e| e.unwrap().path()).collect();
        parts.sort();
        for part in parts.iter().filter(|p| p.to_string_lossy().ends_with(".csv.gz")) {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(part).unwrap()).read_to_string(&mut text).unwrap();
            let name = format!(
                "{}-{}",
                delivery.file_name().unwrap().to_string_lossy(),
                part.file_name().unwrap().to_string_lossy()
            );
            files.push(write(dir.path(), name.trim_end_matches(".gz"), &text));
        }
        assert!(!files.is_empty());
        check(&files, &[], false, crate::chunked::CHUNK);
    }
}

#[test]
fn what_the_reader_cannot_be_sure_of_is_left_to_the_plan() {
    let format = format_by_name("aws-cur").unwrap();
    let good = generated(50).replace("line\nbreak", "line break");
    let cases = [
        ("crlf", good.replace('\n', "\r\n")),
        ("other date format", good.replace("2026-10-05T13:00:00Z", "2026-10-05 13:00:00")),
        ("a cost Polars cannot read", good.replacen("0.0583054230528", "12x5", 1)),
        ("a short record", format!("{good}li-9,INV\n")),
        ("a stray quote", good.replacen("us-east-1a", "us-\"east", 1)),
        ("a CR before a comma", good.replacen("us-east-1a", "us-east-1a\r", 1)),
        ("a non-ASCII unit", good.replacen(",1K tokens,", ",1K to\u{212a}ens,", 1)),
        (
            "a sum past 38 digits",
            generated_with(50, |i, c| match (i, c) {
                (7, "savingsPlan/TotalCommitmentToDate") => Some("99999999999999999999"),
                (7, "savingsPlan/UsedCommitment") => Some("-1"),
                _ => None,
            })
            .replace("line\nbreak", "line break"),
        ),
    ];
    for (what, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (path, object) = write(dir.path(), "cur-00001.csv", &text);
        let input = input(&path, &object, &[], false);
        let dest = dir.path().join("out.parquet");
        let direct = convert_direct(format, std::slice::from_ref(&input), &dest, 1024).unwrap();
        assert!(direct.is_none(), "{what}: the direct reader should decline");
        assert!(!dest.exists(), "{what}: the declined output is removed");
    }
    // A byte that is not UTF-8, near the end (in the last block the reader checks).
    let mut bytes = good.into_bytes();
    let at = bytes.len() - 10;
    bytes[at] = 0xff;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cur-00001.csv");
    std::fs::write(&path, bytes).unwrap();
    let object = path.display().to_string();
    let input = input(&path, &object, &[], false);
    let dest = dir.path().join("out.parquet");
    assert!(convert_direct(format, std::slice::from_ref(&input), &dest, 1 << 20).unwrap().is_none());
    assert!(!dest.exists());
}

#[test]
fn a_decline_early_in_a_long_file_stops_every_worker() {
    // Many small chunks, the first one bad: the writer stops at once while the other workers
    // are mapping, waiting for their turn or for the previous chunk's row count. Repeated, so
    // that a wait that misses the stop would hang the test.
    let format = format_by_name("aws-cur").unwrap();
    let text = generated(2000).replace("line\nbreak", "line break").replacen("us-east-1a", "us-\"east", 1);
    let dir = tempfile::tempdir().unwrap();
    let (path, object) = write(dir.path(), "cur-00001.csv", &text);
    let input = input(&path, &object, &[], false);
    for _ in 0..20 {
        let dest = dir.path().join("out.parquet");
        assert!(convert_direct(format, std::slice::from_ref(&input), &dest, 2048).unwrap().is_none());
        assert!(!dest.exists());
    }
}

#[test]
fn a_rule_on_any_ledger_column_gives_the_plans_ledger() {
    // Columns the CUR mapping derives last, or never fills: rules see the finished ledger rows
    // (every generated row is of October 2026, and has no project).
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cur-00001.csv", &generated(50));
    for (rules, want) in [
        (r#"[{"when": {"column": "x_billing_month", "equals": "2026-10"}, "category": "people"}]"#, "people"),
        (
            r#"[{"when": {"column": "x_billing_month", "equals": "2026-09"}, "category": "people"},
                {"when": {"column": "x_project", "present": false}, "category": "security_compliance"}]"#,
            "security_compliance",
        ),
    ] {
        let rules: Vec<CategoryRule> = serde_json::from_str(rules).unwrap();
        let df = check(std::slice::from_ref(&file), &rules, false, crate::chunked::CHUNK);
        let categories = df.column("x_tco_category").unwrap().str().unwrap();
        assert!(categories.iter().all(|c| c == Some(want)), "{want}");
    }
    // A column that is not in the ledger (a library caller's rule; `tally validate` refuses it)
    // fails in the plan, and the direct reader leaves it to the plan.
    let typo: Vec<CategoryRule> =
        serde_json::from_str(r#"[{"when": {"column": "x_no_such_column", "equals": "a"}, "category": "people"}]"#)
            .unwrap();
    let format = format_by_name("aws-cur").unwrap();
    let (path, object) = file;
    let input = input(&path, &object, &typo, false);
    let dest = dir.path().join("out.parquet");
    assert!(convert_direct(format, std::slice::from_ref(&input), &dest, crate::chunked::CHUNK).unwrap().is_none());
    assert!(convert_with(format, std::slice::from_ref(&input), &dest, Some(crate::chunked::CHUNK)).is_err());
}

#[test]
fn a_bad_cell_is_found_past_a_cost_with_a_leading_blank() {
    // ` 7.25` (row 8) is read as 7.25; the empty usage start of row 20 is the bad cell.
    let text = generated_with(30, |i, c| match (i, c) {
        (19, "lineItem/UsageStartDate") => Some(""),
        _ => None,
    });
    assert!(text.contains(", 7.25,"));
    let format = format_by_name("aws-cur").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (path, object) = write(dir.path(), "cur-00001.csv", &text);
    let input = input(&path, &object, &[], false);
    let dest = dir.path().join("out.parquet");
    let err = convert_with(format, std::slice::from_ref(&input), &dest, Some(crate::chunked::CHUNK)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("lineItem/UsageStartDate") && msg.contains("20"), "{msg}");
    assert!(!dest.exists());
}
