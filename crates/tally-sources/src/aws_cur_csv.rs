//! The direct reader of legacy AWS CUR CSV files: each record is split and mapped onto the
//! ledger in one pass in Rust, chunk by chunk on every core, instead of through Polars' CSV scan
//! and some eighty column expressions.
//!
//! [`crate::aws_cur`]'s Polars plan stays the definition of the mapping. This reader gives the
//! same ledger for the files it accepts (the tests compare the two, column by column, on the
//! fixtures and on generated rows with every line item type, quoting and Bedrock usage), and
//! declines anything it is not sure to read the same way: a record with another field count, a
//! stray quote, CR line ends, a date that is not `YYYY-MM-DDTHH:MM:SSZ`, a cost Polars would
//! not parse. A declined file is converted by the Polars plan, which then also reports the bad
//! cell by object, row and column. Nothing the direct reader wrote is kept in that case.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use polars_arrow::array::{DictionaryArray, MutableBinaryViewArray, PrimitiveArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_buffer::Buffer;
use polars_compute::decimal::{dec128_to_i128, str_to_dec128};
use tally_ledger::frame::default_category;
use tally_ledger::schema::{self, ledger_columns};
use tally_ledger::{TcoCategory, MONEY_SCALE};

use crate::aws_cur::{
    bedrock_token_type, contains_ignore_case, is_gpu_instance, json_string, model_from_usage_type, push_json_string,
    service_category, tag_key, AWS, CREDIT_TYPES, DATES, PURCHASE_TYPES, SERVICE_CATEGORIES, USAGE_TYPES,
};
use crate::chunked::{ChunkMapper, Mapped, Part};
use crate::{CsvHead, Input};

/// Bytes of records checked to be UTF-8 at a time (see [`text_block`]), at most: a chunk is
/// checked in at least 16 blocks.
const TEXT_BLOCK: usize = 256 << 10;

/// The records of `records` from `start` (a record start) to the first newline past `start +
/// size` (or to the end), checked to be UTF-8.
fn text_block(records: &[u8], start: usize, size: usize) -> Option<&str> {
    let nominal = start.saturating_add(size);
    let end = match records.get(nominal..) {
        Some(rest) if !rest.is_empty() => memchr::memchr(b'\n', rest).map_or(records.len(), |k| nominal + k + 1),
        _ => records.len(),
    };
    simdutf8::basic::from_utf8(records.get(start..end)?).ok()
}

/// The only date format read directly (AWS's own); any other is left to the Polars plan.
const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Column positions of the fields the mapping reads (`None`: not in this export).
struct Fields {
    line_item_type: Option<usize>,
    unblended_cost: Option<usize>,
    unblended_rate: Option<usize>,
    usage_amount: Option<usize>,
    public_cost: Option<usize>,
    public_rate: Option<usize>,
    ri_effective: Option<usize>,
    ri_unused_upfront: Option<usize>,
    ri_unused_recurring: Option<usize>,
    sp_effective: Option<usize>,
    sp_total_commitment: Option<usize>,
    sp_used_commitment: Option<usize>,
    ri_arn: Option<usize>,
    sp_arn: Option<usize>,
    product_code: Option<usize>,
    usage_type: Option<usize>,
    product_family: Option<usize>,
    inference_type: Option<usize>,
    model: Option<usize>,
    pricing_unit: Option<usize>,
    instance_type: Option<usize>,
    payer_account: Option<usize>,
    payer_account_name: Option<usize>,
    usage_account: Option<usize>,
    usage_account_name: Option<usize>,
    currency: Option<usize>,
    pricing_currency: Option<usize>,
    description: Option<usize>,
    availability_zone: Option<usize>,
    invoice_id: Option<usize>,
    invoicing_entity: Option<usize>,
    legal_entity: Option<usize>,
    billing_entity: Option<usize>,
    product_name: Option<usize>,
    region_code: Option<usize>,
    region: Option<usize>,
    location: Option<usize>,
    resource_id: Option<usize>,
    sku: Option<usize>,
    rate_code: Option<usize>,
    rate_id: Option<usize>,
    iam_principal: Option<usize>,
    period_start: usize,
    period_end: usize,
    usage_start: usize,
    usage_end: usize,
    /// Tag columns in the order of their names, with their key as JSON text.
    tags: Vec<(usize, String)>,
    /// The first and last tag columns when the tag columns are adjacent (as AWS writes them,
    /// last in the header) and not the first of the record: see [`raw_tags`].
    tag_columns: Option<(usize, usize)>,
}

/// A legacy CUR CSV file the direct reader accepts.
pub(crate) struct CurCsv {
    bytes: polars_buffer::Buffer<u8>,
    /// Lets go of the mapped pages of each chunk once it is written.
    pages: crate::mapped::Released,
    /// Where the first record starts (after the header line).
    body_start: usize,
    columns: usize,
    fields: Fields,
    source: String,
    object: String,
}

/// The direct reader for `input` (a legacy CUR CSV part whose header the Polars plan already
/// checked), or `None` when the file needs the Polars plan.
pub(crate) fn open(input: &Input<'_>, head: &CsvHead) -> Option<CurCsv> {
    if crate::aws_cur::is_parquet(input.path) {
        return None;
    }
    let (bytes, pages) = crate::mapped::map_released(input.path)?;
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return None;
    }
    let text = std::str::from_utf8(&bytes[..header_end(&bytes)?]).ok()?;
    let mut header = Record::default();
    let body_start = split_record(text.as_bytes(), text, 0, &mut header)?;
    let names: Vec<&str> = (0..header.len()).map(|i| header.get(text, i)).collect();
    // The names exactly as Polars reads them (CsvHead trims them).
    if names.len() != head.columns.len() || names.iter().zip(&head.columns).any(|(a, b)| a != b) {
        return None;
    }
    for date in DATES {
        let sample = head.sample(date).and_then(crate::focus::datetime_format);
        if sample.is_some_and(|f| f != DATE_FORMAT) {
            return None;
        }
    }
    let find = |name: &str| names.iter().position(|n| *n == name);
    let need = |name: &str| find(name);
    let mut tags: Vec<(&str, usize)> =
        names.iter().enumerate().filter(|(_, n)| tag_key(n).is_some()).map(|(i, n)| (*n, i)).collect();
    tags.sort();
    let fields = Fields {
        line_item_type: find("lineItem/LineItemType"),
        unblended_cost: find("lineItem/UnblendedCost"),
        unblended_rate: find("lineItem/UnblendedRate"),
        usage_amount: find("lineItem/UsageAmount"),
        public_cost: find("pricing/publicOnDemandCost"),
        public_rate: find("pricing/publicOnDemandRate"),
        ri_effective: find("reservation/EffectiveCost"),
        ri_unused_upfront: find("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"),
        ri_unused_recurring: find("reservation/UnusedRecurringFee"),
        sp_effective: find("savingsPlan/SavingsPlanEffectiveCost"),
        sp_total_commitment: find("savingsPlan/TotalCommitmentToDate"),
        sp_used_commitment: find("savingsPlan/UsedCommitment"),
        ri_arn: find("reservation/ReservationARN"),
        sp_arn: find("savingsPlan/SavingsPlanARN"),
        product_code: find("lineItem/ProductCode"),
        usage_type: find("lineItem/UsageType"),
        product_family: find("product/productFamily"),
        inference_type: find("product/inference_type"),
        model: find("product/model"),
        pricing_unit: find("pricing/unit"),
        instance_type: find("product/instanceType"),
        payer_account: find("bill/PayerAccountId"),
        payer_account_name: find("bill/PayerAccountName"),
        usage_account: find("lineItem/UsageAccountId"),
        usage_account_name: find("lineItem/UsageAccountName"),
        currency: find("lineItem/CurrencyCode"),
        pricing_currency: find("pricing/currency"),
        description: find("lineItem/LineItemDescription"),
        availability_zone: find("lineItem/AvailabilityZone"),
        invoice_id: find("bill/InvoiceId"),
        invoicing_entity: find("bill/InvoicingEntity"),
        legal_entity: find("lineItem/LegalEntity"),
        billing_entity: find("bill/BillingEntity"),
        product_name: find("product/ProductName"),
        region_code: find("product/regionCode"),
        region: find("product/region"),
        location: find("product/location"),
        resource_id: find("lineItem/ResourceId"),
        sku: find("product/sku"),
        rate_code: find("pricing/RateCode"),
        rate_id: find("pricing/RateId"),
        iam_principal: find("lineItem/IamPrincipal"),
        // Without these the plan derives the periods from the usage start: left to it.
        period_start: need("bill/BillingPeriodStartDate")?,
        period_end: need("bill/BillingPeriodEndDate")?,
        usage_start: need("lineItem/UsageStartDate")?,
        usage_end: need("lineItem/UsageEndDate")?,
        tag_columns: {
            let (first, last) = (tags.iter().map(|t| t.1).min(), tags.iter().map(|t| t.1).max());
            first.zip(last).filter(|&(a, z)| a > 0 && z - a + 1 == tags.len())
        },
        tags: tags.into_iter().filter_map(|(n, i)| Some((i, json_string(tag_key(n)?)))).collect(),
    };
    Some(CurCsv {
        pages,
        columns: names.len(),
        bytes,
        body_start,
        fields,
        source: input.source.to_string(),
        object: input.object.to_string(),
    })
}

/// The end of the header line (after its newline), outside quotes.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The fields of one record: where each lies in the chunk, and the few that had to be
/// unescaped (`""` inside quotes).
#[derive(Default)]
struct Record {
    /// Start and end of each field's text; a start of `u32::MAX` marks an unescaped field, whose
    /// end is its index in `owned`.
    spans: Vec<(u32, u32)>,
    owned: Vec<String>,
}

impl Record {
    /// Field `i` of the record, `s` being the chunk it was split from.
    fn get<'r>(&'r self, s: &'r str, i: usize) -> &'r str {
        match self.spans.get(i) {
            Some(&(u32::MAX, k)) => self.owned.get(k as usize).map_or("", String::as_str),
            Some(&(a, b)) => s.get(a as usize..b as usize).unwrap_or(""),
            None => "",
        }
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn push(&mut self, start: usize, end: usize) -> Option<()> {
        self.spans.push((u32::try_from(start).ok().filter(|&a| a != u32::MAX)?, u32::try_from(end).ok()?));
        Some(())
    }
}

/// Splits the record starting at `pos` into `out`, returning where the next record starts;
/// `None` for anything Polars might read differently (a stray quote, a CR, text after a closing
/// quote, an unterminated quote).
fn split_record(b: &[u8], s: &str, mut pos: usize, out: &mut Record) -> Option<usize> {
    out.spans.clear();
    out.owned.clear();
    loop {
        if b.get(pos) == Some(&b'"') {
            let start = pos + 1;
            let mut i = start;
            let mut escaped = false;
            loop {
                i += memchr::memchr(b'"', b.get(i..)?)?;
                if b.get(i + 1) == Some(&b'"') {
                    escaped = true;
                    i += 2;
                } else {
                    break;
                }
            }
            let field = s.get(start..i)?;
            if field.contains('\r') {
                return None;
            }
            if escaped {
                out.spans.push((u32::MAX, u32::try_from(out.owned.len()).ok()?));
                out.owned.push(field.replace("\"\"", "\""));
            } else {
                out.push(start, i)?;
            }
            match b.get(i + 1) {
                Some(b',') => pos = i + 2,
                Some(b'\n') => return Some(i + 2),
                None => return Some(i + 1),
                _ => return None,
            }
        } else {
            match find_special(b, pos) {
                Some(end) => match b.get(end) {
                    Some(b',') => {
                        // Polars drops a CR at the end of any field.
                        if end > pos && b.get(end - 1) == Some(&b'\r') {
                            return None;
                        }
                        out.push(pos, end)?;
                        pos = end + 1;
                    }
                    Some(b'\n') => {
                        if end > pos && b.get(end - 1) == Some(&b'\r') {
                            return None;
                        }
                        out.push(pos, end)?;
                        return Some(end + 1);
                    }
                    _ => return None,
                },
                None => {
                    if b.last() == Some(&b'\r') && b.len() > pos {
                        return None;
                    }
                    out.push(pos, b.len())?;
                    return Some(b.len());
                }
            }
        }
    }
}

/// The raw text of a record's tag fields, from the byte before the first (a comma, or the
/// opening quote) to the end of the last; `None` when the first or the last had to be unescaped.
///
/// The CSV grammar reads this text one way only from the state its first byte gives, so two
/// records with the same raw text have the same tag values, and so the same `Tags` JSON.
fn raw_tags<'t>(record: &Record, text: &'t str, (first, last): (usize, usize)) -> Option<&'t [u8]> {
    let (&(start, _), &(end_start, end)) = (record.spans.get(first)?, record.spans.get(last)?);
    if start == u32::MAX || end_start == u32::MAX {
        return None;
    }
    text.as_bytes().get((start as usize).checked_sub(1)?..end as usize)
}

/// The first `,`, newline or `"` at or after `from`: eight bytes at a time (fields are short,
/// so this beats a SIMD search's setup per field).
fn find_special(b: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = b.get(from..from + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let w = u64::from_le_bytes(word);
        // The high bit of each byte equal to `c` (the lowest set bit is always exact).
        let eq = |c: u8| {
            let x = w ^ (ONES * u64::from(c));
            x.wrapping_sub(ONES) & !x & HIGH
        };
        let m = eq(b',') | eq(b'\n') | eq(b'"');
        if m != 0 {
            return Some(from + (m.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    b.get(from..)?.iter().position(|c| matches!(c, b',' | b'\n' | b'"')).map(|k| from + k)
}

/// A cost or quantity as Polars' CSV reader reads it into `Decimal(38, 18)`: `Some(None)` for an
/// empty field, `None` when Polars would not read it.
#[inline]
fn money(text: &str) -> Option<Option<i128>> {
    let t = text.trim_start_matches([' ', '\t']);
    if t.is_empty() {
        return Some(None);
    }
    if let Some(v) = plain_decimal(t.as_bytes()) {
        return Some(Some(v));
    }
    str_to_dec128(t.as_bytes(), 38, MONEY_SCALE, false).map(Some)
}

/// `10^i` for `i` up to [`MONEY_SCALE`].
const POW10: [i128; MONEY_SCALE + 1] = {
    let mut p = [1i128; MONEY_SCALE + 1];
    let mut i = 1;
    while i <= MONEY_SCALE {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `[-]digits[.digits]` with at most 18 decimals and 38 digits in all, scaled by 10^18: the
/// common case, read without rounding (`None` for any other text, read by Polars' parser).
/// Up to 19 digits (nearly every amount) are summed in 64 bits.
#[inline]
fn plain_decimal(b: &[u8]) -> Option<i128> {
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut v: u64 = 0;
    let mut dot = None;
    let mut n = 0;
    for (i, &c) in digits.iter().enumerate() {
        if c.is_ascii_digit() {
            if n == 19 {
                return wide_decimal(negative, digits);
            }
            v = v * 10 + u64::from(c - b'0');
            n += 1;
        } else if c == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let (int, frac) = dot.map_or((digits.len(), 0), |i| (i, digits.len() - i - 1));
    if int == 0 || frac > MONEY_SCALE {
        return None;
    }
    let v = i128::from(v) * POW10[MONEY_SCALE - frac];
    Some(if negative { -v } else { v })
}

/// [`plain_decimal`] of more than 19 digits.
fn wide_decimal(negative: bool, digits: &[u8]) -> Option<i128> {
    let (int, frac) = match memchr::memchr(b'.', digits) {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, &[][..]),
    };
    if int.is_empty() || frac.len() > MONEY_SCALE || int.len() + MONEY_SCALE > 38 {
        return None;
    }
    let mut v: i128 = 0;
    for &c in int.iter().chain(frac) {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(c - b'0');
    }
    v *= POW10[MONEY_SCALE - frac.len()];
    Some(if negative { -v } else { v })
}

/// `YYYY-MM-DDTHH:MM:SSZ` as UTC microseconds: `Some(None)` for an empty field, `None` for any
/// other text (left to Polars' parser).
fn instant(text: &str) -> Option<Option<i64>> {
    if text.is_empty() {
        return Some(None);
    }
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let t = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(Some(t.and_utc().timestamp_micros()))
}

/// `Other (<category>)`, what FOCUS conformance gives a row without a subcategory, for each
/// category [`service_category`] gives (made once for the run).
static OTHERS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    SERVICE_CATEGORIES
        .iter()
        .map(|(c, _)| *c)
        .chain(["AI and Machine Learning", "Other"])
        .map(|c| (c, format!("Other ({c})")))
        .collect()
});

/// The FOCUS conformance subcategory of `category` (`None` for a category not in [`OTHERS`]).
fn other_subcategory(category: &str) -> Option<&'static str> {
    OTHERS.iter().find(|(c, _)| *c == category).map(|(_, o)| o.as_str())
}

/// The last date read in a column, and its text: dates repeat from row to row (the billing
/// period's in every row), and are then not parsed again.
#[derive(Default)]
struct LastDate {
    text: [u8; 20],
    value: Option<Option<i64>>,
}

impl LastDate {
    fn read(&mut self, text: &str) -> Option<Option<i64>> {
        if self.value.is_some() && text.as_bytes() == self.text {
            return self.value;
        }
        let value = instant(text)?;
        if let Ok(t) = <[u8; 20]>::try_from(text.as_bytes()) {
            (self.text, self.value) = (t, Some(value));
        }
        Some(value)
    }
}

fn is_in(t: Option<&str>, list: &[&str]) -> bool {
    t.is_some_and(|t| list.contains(&t))
}

/// Tokens per unit of `pricing/unit`: `1M`/`million` (any case) a million, `token(s)` one, else
/// a thousand.
fn tokens_per_unit(unit: Option<&str>) -> i128 {
    let u = unit.unwrap_or("");
    if contains_ignore_case(Some(u), "1m") || contains_ignore_case(Some(u), "million") {
        1_000_000
    } else if u.eq_ignore_ascii_case("token") || u.eq_ignore_ascii_case("tokens") {
        1
    } else {
        1000
    }
}

/// One text column of a chunk: as a dictionary (its distinct values, and a key per row) when the
/// chunk is written as it is mapped, else (or when most values are distinct) as Arrow string
/// views.
///
/// A value from the file points into the mapped file itself (no copy); a value tally derives is
/// kept once in the column's own buffer. Every distinct value gets a key as it is first seen, so
/// the Parquet encoder writes the column's dictionary as it is, without hashing every value
/// again (Polars' writer hashes each value twice: to estimate the distinct count, then to build
/// the dictionary), and the column itself is never built.
struct Texts {
    /// One view per row, when not keyed.
    views: Vec<View>,
    valid: MutableBitmap,
    own: Vec<u8>,
    /// One key per row, when keyed.
    keys: Vec<u32>,
    /// Short values (inlined in their view) by their view; longer values by their text.
    short: PlHashMap<u128, u32>,
    long: PlHashMap<Box<str>, u32>,
    distinct: Vec<View>,
    /// The previous value's view and key.
    last: Option<(View, u32)>,
    /// Views and keys of the `'static` texts seen (by address and length).
    statics: Vec<(usize, usize, View, u32)>,
    /// Whether an offset did not fit in 32 bits (the chunk is then declined).
    overflowed: bool,
    /// Whether the column is kept as a dictionary (see [`Texts::unkey`]).
    keyed: bool,
    /// The rows expected.
    capacity: usize,
}

/// The bytes of a non-inline view made by [`Texts::push`]: buffer 0 is the chunk's text, 1 the
/// column's own buffer. (Inline views are compared whole, never through here.)
fn view_bytes<'a>(view: View, file: &'a [u8], own: &'a [u8]) -> &'a [u8] {
    let len = view.length as usize;
    if len <= View::MAX_INLINE_SIZE as usize {
        return &[];
    }
    let (start, end) = (view.offset as usize, view.offset as usize + len);
    let buffer = if view.buffer_idx == 0 { file } else { own };
    buffer.get(start..end).unwrap_or(&[])
}

/// The view of a value of at most 12 bytes, built in registers: `View::new_inline` copies the
/// bytes through memory and reads them back at once, which stalls the CPU on every value.
fn inline_view(b: &[u8]) -> View {
    View::from(inline_bits(b))
}

/// [`inline_view`] as the 128 bits it is (length, then the bytes), kept in two registers: a view
/// built field by field and read back whole straight after stalls the CPU the same way.
fn inline_bits(b: &[u8]) -> u128 {
    let word = |i: usize| {
        b.get(i * 4..b.len().min(i * 4 + 4)).map_or(0, |r| r.iter().rev().fold(0u64, |w, &c| (w << 8) | u64::from(c)))
    };
    let low = b.len() as u64 | word(0) << 32;
    let high = word(1) | word(2) << 32;
    u128::from(low) | u128::from(high) << 64
}

/// Distinct values past which a column's dictionary is dropped, as a share of a chunk's rows.
const MAX_DISTINCT_SHARE: f64 = 0.75;

impl Texts {
    /// A column of about `capacity` rows, kept as a dictionary if `keyed`.
    fn new(capacity: usize, keyed: bool) -> Texts {
        Texts {
            views: if keyed { Vec::new() } else { Vec::with_capacity(capacity) },
            valid: MutableBitmap::with_capacity(capacity),
            own: Vec::new(),
            keys: if keyed { Vec::with_capacity(capacity) } else { Vec::new() },
            short: PlHashMap::default(),
            long: PlHashMap::default(),
            distinct: Vec::new(),
            last: None,
            statics: Vec::new(),
            overflowed: false,
            keyed,
            capacity,
        }
    }

    /// Appends `v`; `file` is the chunk's bytes, where a value read from the file lies.
    fn push(&mut self, v: Option<&str>, file: &[u8]) {
        if !self.keyed {
            let view = v.map(|v| self.view(v, file));
            self.views.push(view.unwrap_or_default());
            self.valid.push(view.is_some());
            return;
        }
        let Some(v) = v else {
            self.keys.push(0);
            self.valid.push(false);
            return;
        };
        let b = v.as_bytes();
        if b.len() <= View::MAX_INLINE_SIZE as usize {
            // Compared, hashed and stored as 128 bits in registers: see [`inline_bits`].
            let bits = inline_bits(b);
            // The same value as the previous row's (common: exports come grouped by account,
            // service and resource) costs one comparison.
            let key = match self.last {
                Some((last, key)) if last.as_u128() == bits => key,
                _ => {
                    let distinct = &mut self.distinct;
                    let key = *self.short.entry(bits).or_insert_with(|| {
                        distinct.push(View::from(bits));
                        distinct.len() as u32 - 1
                    });
                    self.last = Some((View::from(bits), key));
                    key
                }
            };
            self.keys.push(key);
            self.valid.push(true);
        } else {
            if let Some((last, key)) = self.last {
                // The length and the first four bytes (in the view) first: most differ there.
                if last.length as usize == b.len()
                    && b.get(..4).is_some_and(|p| p == last.prefix.to_le_bytes())
                    && view_bytes(last, file, &self.own) == b
                {
                    self.keys.push(key);
                    self.valid.push(true);
                    return;
                }
            }
            let (view, key) = match self.long.get(v) {
                Some(&key) => (self.distinct[key as usize], key),
                None => {
                    let view = self.view(v, file);
                    let key = self.distinct.len() as u32;
                    self.long.insert(v.into(), key);
                    self.distinct.push(view);
                    (view, key)
                }
            };
            self.keys.push(key);
            self.valid.push(true);
            self.last = Some((view, key));
        }
        if self.distinct.len() > 128 && self.distinct.len() as f64 > MAX_DISTINCT_SHARE * self.capacity as f64 {
            self.unkey();
        }
    }

    /// The view of `v`: inline, or into the chunk's text when `v` lies in it, else into the
    /// column's own buffer (where `v` is copied).
    fn view(&mut self, v: &str, file: &[u8]) -> View {
        let b = v.as_bytes();
        if b.len() <= View::MAX_INLINE_SIZE as usize {
            return inline_view(b);
        }
        let (at, base) = (b.as_ptr() as usize, file.as_ptr() as usize);
        // Offsets are 32-bit: a chunk or own buffer past 4 GiB fails `finish` (the chunk is
        // declined) before any view is used.
        if at >= base && at + b.len() <= base + file.len() {
            View::new_from_bytes(b, 0, u32::try_from(at - base).unwrap_or_else(|_| self.overflow()))
        } else {
            let offset = u32::try_from(self.own.len()).unwrap_or_else(|_| self.overflow());
            self.own.extend_from_slice(b);
            View::new_from_bytes(b, 1, offset)
        }
    }

    /// Drops the dictionary (most values are distinct: Polars' writer would write the column
    /// plain too): the column becomes views, each row's being its key's.
    fn unkey(&mut self) {
        let (keys, distinct) = (std::mem::take(&mut self.keys), std::mem::take(&mut self.distinct));
        self.views = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| if self.valid.get(i) { distinct[k as usize] } else { View::default() })
            .collect();
        self.views.reserve(self.capacity.saturating_sub(self.views.len()));
        self.keyed = false;
        self.last = None;
        self.short = PlHashMap::default();
        self.long = PlHashMap::default();
        self.statics = Vec::new();
    }

    /// Appends the value of `key` (whose view is `view`), found by the caller: the column is
    /// keyed and the value was pushed before.
    fn push_key(&mut self, view: View, key: u32) {
        self.keys.push(key);
        self.valid.push(true);
        self.last = Some((view, key));
    }

    /// Appends a text that lives for the whole run (a value tally derives): one that was seen
    /// before is found by its address, without comparing or hashing it.
    fn push_static(&mut self, v: Option<&'static str>, file: &[u8]) {
        let Some(s) = v else { return self.push(None, file) };
        if !self.keyed {
            return self.push(v, file);
        }
        let at = s.as_ptr() as usize;
        if let Some(&(_, _, view, key)) = self.statics.iter().find(|(p, l, ..)| *p == at && *l == s.len()) {
            self.keys.push(key);
            self.valid.push(true);
            self.last = Some((view, key));
            return;
        }
        self.push(v, file);
        if let (true, Some((view, key))) = (self.keyed, self.last) {
            self.statics.push((at, s.len(), view, key));
        }
    }

    /// Marks the column as unusable (an offset past 32 bits); returns a placeholder offset.
    fn overflow(&mut self) -> u32 {
        self.overflowed = true;
        0
    }

    /// The column: its dictionary when it keeps one, else its views.
    fn finish(mut self, name: &str, file: &Buffer<u8>) -> PolarsResult<Part> {
        polars_ensure!(!self.overflowed, ComputeError: "column {name}: a chunk too large for 32-bit offsets");
        let rows = self.valid.len();
        if self.keyed && rows > 128 && self.distinct.len() as f64 > MAX_DISTINCT_SHARE * rows as f64 {
            self.unkey();
        }
        let validity: Option<Bitmap> = self.valid.into();
        let buffers = vec![file.clone(), Buffer::from(self.own)];
        // Every view was made in `view` from a `&str` lying in the buffer it names.
        if !self.keyed {
            return Ok(Part::Column(crate::views::utf8_column(name, self.views, buffers, validity)?));
        }
        let values = crate::views::utf8_array(self.distinct, buffers)?;
        let keys = PrimitiveArray::<u32>::new(ArrowDataType::UInt32, self.keys.into(), validity);
        Ok(Part::Dictionary(name.into(), DictionaryArray::<u32>::try_from_keys(keys, values.boxed(), false)?))
    }
}

/// A timestamp column as the dictionary Polars' writer would make of it (distinct values in the
/// order first seen, a key per row), or `None` when most values are distinct (it would then
/// write the column plain). Polars finds it by estimating the distinct values and then hashing
/// every row again; here one pass with a small map does it, and the pages are the same.
fn time_dictionary(v: &Values<i64>) -> Option<DictionaryArray<u32>> {
    let rows = v.values.len();
    let mut keys = Vec::with_capacity(rows);
    let mut distinct: Vec<i64> = Vec::new();
    let mut index: PlHashMap<i64, u32> = PlHashMap::default();
    let mut last: Option<(i64, u32)> = None;
    for (i, &t) in v.values.iter().enumerate() {
        if !v.valid.get(i) {
            keys.push(0);
            continue;
        }
        let key = match last {
            Some((l, k)) if l == t => k,
            _ => {
                let k = *index.entry(t).or_insert_with(|| {
                    distinct.push(t);
                    distinct.len() as u32 - 1
                });
                last = Some((t, k));
                k
            }
        };
        keys.push(key);
        if distinct.len() > 128 && distinct.len() as f64 > MAX_DISTINCT_SHARE * rows as f64 {
            return None;
        }
    }
    let dtype = ArrowDataType::Timestamp(polars_arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()));
    let values = PrimitiveArray::<i64>::from_vec(distinct).to(dtype);
    let validity: Option<Bitmap> = v.valid.clone().into();
    let keys = PrimitiveArray::<u32>::new(ArrowDataType::UInt32, keys.into(), validity);
    DictionaryArray::<u32>::try_from_keys(keys, values.boxed(), false).ok()
}

/// A column of numbers being built: the values (zero where empty) and which are set.
struct Values<T> {
    values: Vec<T>,
    valid: MutableBitmap,
}

impl<T: Default> Values<T> {
    fn new(capacity: usize) -> Values<T> {
        Values { values: Vec::with_capacity(capacity), valid: MutableBitmap::with_capacity(capacity) }
    }

    fn push(&mut self, v: Option<T>) {
        self.valid.push(v.is_some());
        self.values.push(v.unwrap_or_default());
    }
}

/// Column builders of one chunk, in ledger order where the mapping has a value.
struct Out<'f> {
    file: &'f [u8],
    keyed: bool,
    texts: Vec<Texts>,
    money: Vec<(&'static str, Values<i128>)>,
    times: Vec<(&'static str, Values<i64>)>,
    counts: Vec<(&'static str, Values<i64>)>,
}

// Positions in `Out`'s vectors.
const T_AZ: usize = 0;
const T_ACCOUNT: usize = 1;
const T_ACCOUNT_NAME: usize = 2;
const T_CURRENCY: usize = 3;
const T_CATEGORY: usize = 4;
const T_DESCRIPTION: usize = 5;
const T_FREQUENCY: usize = 6;
const T_CD_CATEGORY: usize = 7;
const T_CD_ID: usize = 8;
const T_CD_STATUS: usize = 9;
const T_CD_TYPE: usize = 10;
const T_CONSUMED_UNIT: usize = 11;
const T_INVOICE: usize = 12;
const T_ISSUER: usize = 13;
const T_PRICING_CATEGORY: usize = 14;
const T_PRICING_CURRENCY: usize = 15;
const T_PRICING_UNIT: usize = 16;
const T_PUBLISHER: usize = 17;
const T_REGION_ID: usize = 18;
const T_REGION_NAME: usize = 19;
const T_RESOURCE: usize = 20;
const T_SERVICE_CATEGORY: usize = 21;
const T_SERVICE_NAME: usize = 22;
const T_SUBCATEGORY: usize = 23;
const T_SKU: usize = 24;
const T_SKU_PRICE: usize = 25;
const T_SUB_ACCOUNT: usize = 26;
const T_SUB_ACCOUNT_NAME: usize = 27;
const T_TAGS: usize = 28;
const T_MONTH: usize = 29;
const T_TCO: usize = 30;
const T_MODEL: usize = 31;
const T_TOKEN_TYPE: usize = 32;
const T_TIER: usize = 33;
const T_USER: usize = 34;
const TEXTS: [&str; 35] = [
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedUnit",
    "InvoiceId",
    "InvoiceIssuerName",
    "PricingCategory",
    "PricingCurrency",
    "PricingUnit",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    schema::X_BILLING_MONTH,
    schema::X_TCO_CATEGORY,
    schema::X_MODEL,
    schema::X_TOKEN_TYPE,
    schema::X_SERVICE_TIER,
    schema::X_USER,
];
const M_BILLED: usize = 0;
const M_CONSUMED: usize = 1;
const M_CONTRACTED: usize = 2;
const M_CONTRACTED_PRICE: usize = 3;
const M_EFFECTIVE: usize = 4;
const M_LIST: usize = 5;
const M_LIST_PRICE: usize = 6;
const M_PRICING_QUANTITY: usize = 7;
const MONEY: [&str; 8] = [
    "BilledCost",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
];
const D_PERIOD_END: usize = 0;
const D_PERIOD_START: usize = 1;
const D_CHARGE_END: usize = 2;
const D_CHARGE_START: usize = 3;
const TIMES: [&str; 4] = ["BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"];
const C_ROW: usize = 0;
const C_TOKENS: usize = 1;
const COUNTS: [&str; 2] = [schema::X_SOURCE_ROW, schema::X_TOKEN_COUNT];

impl<'f> Out<'f> {
    /// Builders for about `capacity` rows; text columns as dictionaries if `keyed`.
    fn new(file: &'f [u8], capacity: usize, keyed: bool) -> Out<'f> {
        Out {
            file,
            keyed,
            texts: TEXTS.iter().map(|_| Texts::new(capacity, keyed)).collect(),
            money: MONEY.iter().map(|n| (*n, Values::new(capacity))).collect(),
            times: TIMES.iter().map(|n| (*n, Values::new(capacity))).collect(),
            counts: COUNTS.iter().map(|n| (*n, Values::new(capacity))).collect(),
        }
    }

    fn text(&mut self, i: usize, v: Option<&str>) {
        self.texts[i].push(v, self.file);
    }

    fn word(&mut self, i: usize, v: Option<&'static str>) {
        self.texts[i].push_static(v, self.file);
    }

    /// The ledger frame (every column, in order, of its ledger type) of `height` rows.
    fn finish(self, height: usize, cur: &CurCsv, file: &Buffer<u8>) -> PolarsResult<Mapped> {
        let mut built: PlHashMap<&'static str, Part> = PlHashMap::new();
        for (name, texts) in TEXTS.iter().zip(self.texts) {
            built.insert(name, texts.finish(name, file)?);
        }
        for (name, v) in self.money {
            let ca = Int128Chunked::from_vec_validity(name.into(), v.values, v.valid.into());
            built.insert(name, Part::Column(ca.into_decimal_unchecked(38, MONEY_SCALE).into_column()));
        }
        for (name, v) in self.times {
            let part = match self.keyed.then(|| time_dictionary(&v)).flatten() {
                Some(dict) => Part::Dictionary(name.into(), dict),
                None => {
                    let ca = Int64Chunked::from_vec_validity(name.into(), v.values, v.valid.into());
                    Part::Column(ca.into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)).into_column())
                }
            };
            built.insert(name, part);
        }
        for (name, v) in self.counts {
            let ca = Int64Chunked::from_vec_validity(name.into(), v.values, v.valid.into());
            built.insert(name, Part::Column(ca.into_column()));
        }
        // Columns with one value for the whole file.
        let constants = [
            ("ProviderName", AWS),
            (schema::X_SOURCE, cur.source.as_str()),
            (schema::X_SOURCE_FORMAT, "aws-cur"),
            (schema::X_SOURCE_OBJECT, cur.object.as_str()),
            (schema::X_COST_BASIS, "billed"),
        ];
        for (name, v) in constants {
            let part = if self.keyed {
                let keys = PrimitiveArray::<u32>::from_vec(vec![0; height]);
                let values = MutableBinaryViewArray::<str>::from_values_iter(std::iter::once(v)).freeze();
                Part::Dictionary(name.into(), DictionaryArray::<u32>::try_from_keys(keys, values.boxed(), false)?)
            } else {
                let scalar = Scalar::new(DataType::String, AnyValue::StringOwned(v.into()));
                Part::Column(Column::new_scalar(name.into(), scalar, height))
            };
            built.insert(name, part);
        }
        let mut parts = Vec::new();
        for c in ledger_columns() {
            let dtype = c.kind.dtype();
            parts.push(match built.remove(c.name) {
                Some(part) => part,
                // A text column the CUR never fills: an empty dictionary, as a text column with
                // no value in the chunk is (Polars' writer would count the bytes of its empty
                // strings, row by row, for every page).
                None if self.keyed && dtype == DataType::String => {
                    let keys = PrimitiveArray::<u32>::new_null(ArrowDataType::UInt32, height);
                    let values = MutableBinaryViewArray::<str>::new().freeze();
                    Part::Dictionary(c.name.into(), DictionaryArray::<u32>::try_from_keys(keys, values.boxed(), false)?)
                }
                None => Part::Column(Column::full_null(c.name.into(), height, &dtype)),
            });
        }
        Ok(Mapped { height, parts })
    }
}

impl ChunkMapper for CurCsv {
    fn body(&self) -> Buffer<u8> {
        self.bytes.clone().sliced(self.body_start..)
    }

    fn done(&self, range: std::ops::Range<usize>) {
        self.pages.release(self.body_start + range.start..self.body_start + range.end);
    }

    fn map(&self, chunk: Buffer<u8>, conform: bool) -> Option<Mapped> {
        let records: &[u8] = &chunk;
        let f = &self.fields;
        let mut out = Out::new(records, records.len() / 512 + 16, conform);
        let mut fields = Record { spans: Vec::with_capacity(self.columns), owned: Vec::new() };
        let mut tags = String::new();
        // The `Tags` key (or null) of each raw tag text seen in the chunk (see [`raw_tags`]): a
        // row whose tags were seen gets their key without its JSON being built and looked up.
        let mut tag_keys: PlHashMap<&[u8], Option<(View, u32)>> = PlHashMap::default();
        let mut month: Option<(i64, String)> = None;
        let mut dates: [LastDate; 4] = Default::default();
        let mut rows = 0usize;
        // The records are checked to be UTF-8 a block at a time, just before they are split
        // (their bytes are then still in the cache): `text` is the block from `start`.
        let block = TEXT_BLOCK.min(records.len() / 16).max(1);
        let (mut start, mut text, mut pos) = (0, "", 0);
        loop {
            if pos == text.len() {
                start += text.len();
                if start >= records.len() {
                    break;
                }
                (text, pos) = (text_block(records, start, block)?, 0);
            }
            let Some(next) = split_record(text.as_bytes(), text, pos, &mut fields) else {
                // A record running past the block (a newline inside quotes where it was cut) is
                // split again in a larger block; anything else is declined.
                if start + text.len() == records.len() {
                    return None;
                }
                start += pos;
                (text, pos) = (text_block(records, start, 2 * (text.len() - pos).max(block))?, 0);
                continue;
            };
            pos = next;
            if fields.len() != self.columns {
                return None;
            }
            rows += 1;
            let raw = |i: Option<usize>| i.map(|i| fields.get(text, i));
            // Text as the plan reads it: empty is null.
            let txt = |i: Option<usize>| raw(i).filter(|v| !v.is_empty());
            let num = |i: Option<usize>| -> Option<Option<i128>> {
                match raw(i) {
                    None => Some(None),
                    Some(v) => money(v),
                }
            };
            let t = txt(f.line_item_type);
            let billed = num(f.unblended_cost)?;
            let amount = num(f.usage_amount)?;
            let public = num(f.public_cost)?;
            // Every money column the plan reads is read (and checked) once, used or not, as its
            // scan would.
            let rate = num(f.unblended_rate)?;
            let public_rate = num(f.public_rate)?;
            let [sp_effective, sp_total, sp_used, ri_effective, ri_unused_upfront, ri_unused_recurring] = [
                f.sp_effective,
                f.sp_total_commitment,
                f.sp_used_commitment,
                f.ri_effective,
                f.ri_unused_upfront,
                f.ri_unused_recurring,
            ]
            .map(|i| num(i).map(|v| v.unwrap_or(0)));
            let (ri_arn, sp_arn) = (txt(f.ri_arn), txt(f.sp_arn));
            // Polars computes every branch of the plan's `when` for every row, and a sum past 38
            // digits fails the whole file there: left to it.
            let fits = |v: i128| (v.unsigned_abs() < 10u128.pow(38)).then_some(v);
            let sp_unused = fits(sp_total?.checked_sub(sp_used?)?)?;
            let ri_unused = fits(ri_unused_upfront?.checked_add(ri_unused_recurring?)?)?;
            let effective = match t {
                Some("SavingsPlanCoveredUsage") => Some(sp_effective?),
                Some("SavingsPlanRecurringFee") => Some(sp_unused),
                Some("SavingsPlanNegation" | "SavingsPlanUpfrontFee") => Some(0),
                Some("DiscountedUsage") => Some(ri_effective?),
                Some("RIFee") => Some(ri_unused),
                Some("Fee") if ri_arn.is_some() => Some(0),
                _ => billed,
            };
            sp_effective?;
            ri_effective?;
            let category = if t == Some("Tax") {
                "Tax"
            } else if is_in(t, PURCHASE_TYPES) {
                "Purchase"
            } else if is_in(t, CREDIT_TYPES) {
                "Credit"
            } else if is_in(t, USAGE_TYPES) {
                "Usage"
            } else {
                "Adjustment"
            };
            let is_usage = is_in(t, USAGE_TYPES);
            let frequency = if is_usage {
                "Usage-Based"
            } else if is_in(t, &["RIFee", "SavingsPlanRecurringFee", "Tax"]) {
                "Recurring"
            } else {
                "One-Time"
            };
            let list_cost = if t == Some("SavingsPlanNegation") { Some(0) } else { public.or(billed) };
            let code = txt(f.product_code);
            let usage_type = txt(f.usage_type);
            let family = txt(f.product_family);
            let bedrock = family == Some("Amazon Bedrock") || code == Some("AmazonBedrock");
            let inference = txt(f.inference_type);
            let spot = contains_ignore_case(usage_type, "spotusage");
            let token_type = if bedrock { bedrock_token_type(usage_type, inference) } else { None };
            let model = if bedrock { txt(f.model).or_else(|| model_from_usage_type(usage_type?)) } else { None };
            let pricing_unit = txt(f.pricing_unit);
            // The plan matches units with case-insensitive regular expressions, which also fold
            // some non-ASCII letters (the Kelvin sign is a `k`): such units are left to it.
            if pricing_unit.is_some_and(|u| !u.is_ascii()) {
                return None;
            }
            // As Polars multiplies decimals (38 digits at most; for every row, as above) and casts
            // to an integer (rounding half to even).
            let scaled = match amount {
                Some(a) => Some(fits(a.checked_mul(tokens_per_unit(pricing_unit))?)?),
                None => None,
            };
            let tokens = match (token_type, scaled) {
                (Some(_), Some(scaled)) => i64::try_from(dec128_to_i128(scaled, MONEY_SCALE)).ok(),
                _ => None,
            };
            let batch =
                bedrock && (contains_ignore_case(usage_type, "batch") || contains_ignore_case(inference, "batch"));
            let service_cat = service_category(code, bedrock);
            let subcategory = if bedrock {
                Some("Generative AI")
            } else if code == Some("AmazonEC2") && family == Some("Compute Instance") {
                Some("Virtual Machines")
            } else {
                None
            };
            let instance = txt(f.instance_type).or(usage_type).unwrap_or("");
            let gpu = is_usage && is_gpu_instance(instance);
            let covered = is_in(t, &["DiscountedUsage", "SavingsPlanCoveredUsage"]);
            let sub_account = txt(f.usage_account);
            let consumed_unit = if is_usage { pricing_unit } else { None };
            let start = dates[0].read(raw(Some(f.usage_start)).unwrap_or(""))?;
            let period_start = dates[1].read(raw(Some(f.period_start)).unwrap_or(""))?;
            let period_end = dates[2].read(raw(Some(f.period_end)).unwrap_or(""))?;
            let end = dates[3].read(raw(Some(f.usage_end)).unwrap_or(""))?;

            out.text(T_AZ, txt(f.availability_zone));
            out.money[M_BILLED].1.push(billed);
            out.text(T_ACCOUNT, txt(f.payer_account).or(sub_account));
            out.text(T_ACCOUNT_NAME, txt(f.payer_account_name));
            out.text(T_CURRENCY, txt(f.currency));
            out.times[D_PERIOD_START].1.push(period_start);
            out.times[D_PERIOD_END].1.push(period_end);
            out.word(T_CATEGORY, Some(category));
            out.text(T_DESCRIPTION, txt(f.description));
            out.word(T_FREQUENCY, Some(frequency));
            out.times[D_CHARGE_START].1.push(start);
            out.times[D_CHARGE_END].1.push(end);
            out.word(
                T_CD_CATEGORY,
                if sp_arn.is_some() {
                    Some("Spend")
                } else if ri_arn.is_some() {
                    Some("Usage")
                } else {
                    None
                },
            );
            out.text(T_CD_ID, sp_arn.or(ri_arn));
            out.word(
                T_CD_TYPE,
                if sp_arn.is_some() {
                    Some("Savings Plan")
                } else if ri_arn.is_some() {
                    Some("Reserved Instance")
                } else {
                    None
                },
            );
            out.word(T_CD_STATUS, covered.then_some("Used"));
            out.money[M_CONSUMED].1.push(if is_usage { amount } else { None });
            out.text(T_CONSUMED_UNIT, consumed_unit);
            out.money[M_CONTRACTED].1.push(billed);
            out.money[M_CONTRACTED_PRICE].1.push(rate);
            out.money[M_EFFECTIVE].1.push(effective);
            out.text(T_INVOICE, txt(f.invoice_id));
            let entity = txt(f.invoicing_entity);
            out.text(
                T_ISSUER,
                match entity {
                    Some(e) if !e.starts_with("Amazon Web Services") => Some(e),
                    _ => Some(AWS),
                },
            );
            out.money[M_LIST].1.push(list_cost);
            out.money[M_LIST_PRICE].1.push(public_rate);
            out.word(
                T_PRICING_CATEGORY,
                if covered {
                    Some("Committed")
                } else if t == Some("Usage") && spot {
                    Some("Dynamic")
                } else if t == Some("Usage") {
                    Some("Standard")
                } else {
                    None
                },
            );
            out.text(T_PRICING_CURRENCY, txt(f.pricing_currency).or(txt(f.currency)));
            // FOCUS conformance (`conform_focus`), when no user rule needs the rows before it.
            let (quantity, unit) = if conform {
                let unit = pricing_unit.or(consumed_unit);
                let quantity = if category == "Tax" { None } else { amount };
                let quantity = unit.and(quantity);
                (quantity, quantity.and(unit))
            } else {
                (amount, pricing_unit)
            };
            out.money[M_PRICING_QUANTITY].1.push(quantity);
            out.text(T_PRICING_UNIT, unit);
            out.text(
                T_PUBLISHER,
                Some(txt(f.legal_entity).or(txt(f.billing_entity)).unwrap_or("Amazon Web Services, Inc.")),
            );
            out.text(T_REGION_ID, txt(f.region_code).or(txt(f.region)));
            out.text(T_REGION_NAME, txt(f.location));
            out.text(T_RESOURCE, txt(f.resource_id));
            out.word(T_SERVICE_CATEGORY, Some(service_cat));
            out.text(T_SERVICE_NAME, txt(f.product_name).or(code));
            match (subcategory, conform) {
                (None, true) => match other_subcategory(service_cat) {
                    Some(other) => out.word(T_SUBCATEGORY, Some(other)),
                    None => out.text(T_SUBCATEGORY, Some(&format!("Other ({service_cat})"))),
                },
                _ => out.word(T_SUBCATEGORY, subcategory),
            }
            out.text(T_SKU, txt(f.sku));
            out.text(T_SKU_PRICE, txt(f.rate_code).or(txt(f.rate_id)));
            out.text(T_SUB_ACCOUNT, sub_account);
            out.text(T_SUB_ACCOUNT_NAME, txt(f.usage_account_name));
            // Kept only while the column is a dictionary (its keys stay valid).
            let raw_text = f.tag_columns.filter(|_| out.texts[T_TAGS].keyed).and_then(|c| raw_tags(&fields, text, c));
            match raw_text.and_then(|r| tag_keys.get(r)) {
                Some(&Some((view, key))) => out.texts[T_TAGS].push_key(view, key),
                Some(None) => out.text(T_TAGS, None),
                None => {
                    tags.clear();
                    for (i, key) in &f.tags {
                        if let Some(v) = txt(Some(*i)) {
                            tags.push(if tags.is_empty() { '{' } else { ',' });
                            tags.push_str(key);
                            tags.push(':');
                            push_json_string(&mut tags, v);
                        }
                    }
                    let json = (!tags.is_empty()).then(|| {
                        tags.push('}');
                        tags.as_str()
                    });
                    out.text(T_TAGS, json);
                    if let Some(r) = raw_text.filter(|_| out.texts[T_TAGS].keyed) {
                        tag_keys.insert(r, json.and(out.texts[T_TAGS].last));
                    }
                }
            }
            out.counts[C_ROW].1.push(Some(rows as i64));
            out.text(T_MODEL, model);
            out.word(T_TOKEN_TYPE, token_type);
            out.counts[C_TOKENS].1.push(tokens);
            out.word(T_TIER, batch.then_some("batch"));
            out.text(T_USER, txt(f.iam_principal));
            match period_start {
                None => out.text(T_MONTH, None),
                Some(ts) => {
                    if month.as_ref().is_none_or(|(last, _)| *last != ts) {
                        let d = chrono::DateTime::from_timestamp_micros(ts)?;
                        month = Some((ts, format!("{:04}-{:02}", d.year(), d.month())));
                    }
                    out.text(T_MONTH, month.as_ref().map(|(_, m)| m.as_str()));
                }
            }
            let tco = if gpu {
                TcoCategory::Compute
            } else if token_type.is_some() || subcategory == Some("Generative AI") {
                TcoCategory::ModelApi
            } else {
                default_category(Some(service_cat), subcategory, pricing_unit, consumed_unit)
            };
            out.word(T_TCO, Some(tco.as_str()));
        }
        out.finish(rows, self, &chunk).ok()
    }
}

#[cfg(test)]
#[path = "aws_cur_csv_tests.rs"]
mod differential;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn plain_decimals_read_as_polars_reads_them(
            negative in proptest::bool::ANY,
            int in "[0-9]{1,22}",
            frac in proptest::option::of("[0-9]{0,20}"),
        ) {
            let text = format!("{}{int}{}", if negative { "-" } else { "" }, frac.map(|f| format!(".{f}")).unwrap_or_default());
            proptest::prop_assert_eq!(money(&text), str_to_dec128(text.as_bytes(), 38, MONEY_SCALE, false).map(Some));
        }
    }

    /// A text column read back, whatever form it was kept in.
    fn texts_of(texts: Texts, file: &str) -> (bool, Vec<Option<String>>) {
        let part = texts.finish("t", &Buffer::from(file.as_bytes().to_vec())).unwrap();
        let keyed = matches!(part, Part::Dictionary(..));
        let column = part.into_column().unwrap();
        (keyed, column.str().unwrap().iter().map(|v| v.map(str::to_string)).collect())
    }

    /// Two records with the same raw tag text have the same tag values: checked over every pair
    /// of values of up to three of `a`, `,` and `"`, each written bare (when it can be) and
    /// quoted, after a first field that is bare or quoted.
    #[test]
    fn the_same_raw_tag_text_means_the_same_tag_values() {
        let mut values = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = values.iter().flat_map(|v| ["a", ",", "\""].map(|c| format!("{v}{c}"))).collect();
            values.extend(longer);
        }
        values.sort();
        values.dedup();
        let written = |v: &str| {
            let quoted = format!("\"{}\"", v.replace('"', "\"\""));
            if v.contains([',', '"']) {
                vec![quoted]
            } else {
                vec![v.to_string(), quoted]
            }
        };
        let mut seen: PlHashMap<Vec<u8>, (String, String)> = PlHashMap::default();
        let mut record = Record::default();
        let mut cached = 0;
        for first in ["x", "\"x,y\""] {
            for a in &values {
                for b in &values {
                    for wa in written(a) {
                        for wb in written(b) {
                            let line = format!("{first},{wa},{wb}\n");
                            split_record(line.as_bytes(), &line, 0, &mut record).expect("a record");
                            assert_eq!(
                                (record.get(&line, 1), record.get(&line, 2)),
                                (a.as_str(), b.as_str()),
                                "{line}"
                            );
                            let Some(raw) = raw_tags(&record, &line, (1, 2)) else { continue };
                            cached += 1;
                            let before = seen.entry(raw.to_vec()).or_insert_with(|| (a.clone(), b.clone()));
                            assert_eq!(before, &(a.clone(), b.clone()), "raw {:?}", String::from_utf8_lossy(raw));
                        }
                    }
                }
            }
        }
        // Values with a quote inside are unescaped: those records are not cached.
        assert_eq!(cached, 722, "records cached");
    }

    #[test]
    fn timestamp_columns_become_dictionaries_unless_mostly_distinct() {
        let hour = 3_600_000_000i64;
        let mut v = Values::new(1_000);
        for i in 0..1_000i64 {
            v.push((i % 10 != 3).then_some(1_790_000_000_000_000 + (i % 24) * hour));
        }
        let dict = time_dictionary(&v).expect("24 distinct hours in 1,000 rows");
        assert_eq!(dict.values().len(), 24);
        let part = Part::Dictionary("ChargePeriodStart".into(), dict);
        let column = part.into_column().unwrap();
        assert_eq!(column.dtype(), &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)));
        let expected =
            Int64Chunked::from_vec_validity("ChargePeriodStart".into(), v.values.clone(), v.valid.clone().into())
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_column();
        assert!(column.equals_missing(&expected));
        // Every value distinct: left plain, as Polars' writer would write it.
        let mut distinct = Values::new(1_000);
        (0..1_000i64).for_each(|i| distinct.push(Some(i * hour)));
        assert!(time_dictionary(&distinct).is_none());
    }

    #[test]
    fn text_columns_keep_every_value_as_dictionaries_or_views() {
        // Values from the file (short and long), derived ones, statics, repeats and empties.
        let file = "USD,a-resource-id-longer-than-twelve,EUR,another-long-resource-id";
        let from_file = [&file[0..3], &file[4..35], &file[36..39], &file[40..]];
        let derived: Vec<String> = (0..400).map(|i| format!("derived value number {i}")).collect();
        let row = |i: usize| -> Option<&str> {
            match i % 7 {
                0 => None,
                1 | 2 => Some(from_file[i % 4]),
                3 => Some("Usage"),
                _ => Some(derived[i % 400].as_str()),
            }
        };
        // Few distinct values: a dictionary. Mostly distinct: views, whether that shows while
        // pushing (past the share of the expected rows) or only at the end.
        for (rows, capacity, keyed) in [(300, 300, true), (2000, 400, false), (200, 100_000, false), (100, 100, true)] {
            let values: Vec<Option<String>> = (0..rows)
                .map(|i| match (keyed, i % 10) {
                    (true, _) => row(i).map(str::to_string),
                    (false, 0) => None,
                    (false, 1) => Some("Usage".to_string()),
                    (false, _) => Some(format!("distinct value {i}")),
                })
                .collect();
            let mut texts = Texts::new(capacity, true);
            for v in &values {
                match v.as_deref() {
                    Some("Usage") => texts.push_static(Some("Usage"), file.as_bytes()),
                    v => texts.push(v, file.as_bytes()),
                }
            }
            let (was_keyed, got) = texts_of(texts, file);
            assert_eq!(got, values, "rows {rows}, capacity {capacity}");
            assert_eq!(was_keyed, keyed, "rows {rows}, capacity {capacity}");
            // Not keyed from the start (a user rule reads the rows): the same values.
            let mut plain = Texts::new(capacity, false);
            for v in &values {
                plain.push(v.as_deref(), file.as_bytes());
            }
            assert_eq!(texts_of(plain, file), (false, values));
        }
    }

    #[test]
    fn inline_views_are_arrows_own() {
        for s in ["", "a", "USD", "Usage", "abcdefgh", "abcdefghijk", "abcdefghijkl", "é€"] {
            assert_eq!(inline_view(s.as_bytes()).as_u128(), View::new_inline(s.as_bytes()).as_u128(), "{s}");
        }
    }

    #[test]
    fn the_word_search_finds_what_a_byte_search_finds() {
        let text = b"abc,def\"ghijklmnopq\nrstu,,,vwxyz0123456789\"\",\n,a";
        for from in 0..=text.len() {
            let slow = text[from..].iter().position(|c| matches!(c, b',' | b'\n' | b'"')).map(|k| from + k);
            assert_eq!(find_special(text, from), slow, "from {from}");
        }
        let high: Vec<u8> = "é,€\n\u{1}\u{7f}\u{80}ÿ\"".bytes().collect();
        for from in 0..=high.len() {
            let slow = high[from..].iter().position(|c| matches!(c, b',' | b'\n' | b'"')).map(|k| from + k);
            assert_eq!(find_special(&high, from), slow, "from {from}");
        }
    }

    #[test]
    fn records_split_as_rfc_4180() {
        let text = "a,\"b,c\",\"say \"\"hi\"\"\",\n\"x\",y,,z";
        let mut out = Record::default();
        let fields = |r: &Record| (0..r.len()).map(|i| r.get(text, i).to_string()).collect::<Vec<_>>();
        let next = split_record(text.as_bytes(), text, 0, &mut out).unwrap();
        assert_eq!(fields(&out), ["a", "b,c", "say \"hi\"", ""]);
        let end = split_record(text.as_bytes(), text, next, &mut out).unwrap();
        assert_eq!(fields(&out), ["x", "y", "", "z"]);
        assert_eq!(end, text.len());
    }

    #[test]
    fn what_polars_might_read_differently_is_declined() {
        let mut out = Record::default();
        for bad in ["a,b\"c,d\n", "a,\"b\"c,d\n", "a,b\r\n", "a,\"unterminated\n", "a,\"b\"\r\n"] {
            assert!(split_record(bad.as_bytes(), bad, 0, &mut out).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn dates_and_money_read_as_polars_reads_them() {
        assert_eq!(instant("2026-10-19T11:00:00Z"), Some(Some(1_792_407_600_000_000)));
        assert_eq!(instant(""), Some(None));
        for odd in ["2026-02-30T00:00:00Z", "2026-10-19T24:00:00Z", "2026-10-19 11:00:00Z", "2026-10-19T11:00:00"] {
            assert_eq!(instant(odd), None, "{odd}");
        }
        // Dates read in a row through the cache of the last one, each as when read alone.
        let mut last = LastDate::default();
        for text in [
            "2026-10-19T11:00:00Z",
            "2026-10-19T11:00:00Z",
            "2026-10-19T12:30:05Z",
            "2026-10-19T24:00:00Z",
            "2026-10-19T12:60:00Z",
            "2026-10-19 12:00:00Z",
            "2026-10-19T12:00:00",
            "2026-10-19T1a:00:00Z",
            "2026-10-20T00:00:00Z",
            "",
            "2026-10-19T23:59:59Z",
            "2026-02-30T00:00:00Z",
            "2026-10-19T00:00:00Z",
        ] {
            assert_eq!(last.read(text), instant(text), "{text}");
        }
        assert_eq!(money(""), Some(None));
        assert_eq!(money(" 1.5"), Some(Some(15 * 10i128.pow(17))));
        assert_eq!(money("1e-3"), Some(Some(10i128.pow(15))));
        assert_eq!(money("abc"), None);
        for text in [
            "0",
            "-0",
            "1.5",
            "-12.000000000000000001",
            "123456789012345678901.5",
            "00012.3400",
            "1.",
            ".5",
            "1e3",
            "12345678901234567890123.1",
            "0.0000000000000000001",
            "+1",
            "1,5",
            "-",
            "--1",
            "1.2.3",
            "99999999999999999999.999999999999999999",
        ] {
            assert_eq!(
                plain_decimal(text.as_bytes()).map(Some),
                plain_decimal(text.as_bytes()).and(str_to_dec128(text.as_bytes(), 38, MONEY_SCALE, false).map(Some)),
                "{text}"
            );
            assert_eq!(money(text), str_to_dec128(text.as_bytes(), 38, MONEY_SCALE, false).map(Some), "{text}");
        }
    }
}
