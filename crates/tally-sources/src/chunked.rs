//! Converting local CSV files with a direct reader: the records are cut into chunks of about
//! [`CHUNK`] bytes (a record never spans two), every core maps chunks into ledger frames and
//! encodes and compresses each as a Parquet row group, and the row groups are written in file
//! order.
//!
//! Memory stays bounded: a worker does not start a chunk more than [`AHEAD`] chunks past the
//! last one written, and the input is a memory map whose pages are let go behind the reader.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, OnceLock};

use polars::prelude::*;
use polars_arrow::array::{Array as _, PrimitiveArray};
use polars_arrow::array::{DictionaryArray, Utf8ViewArray};
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1};
use polars_parquet::parquet::schema::types::{ParquetType, PrimitiveType as ParquetPrimitiveType};
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::statistics::FixedLenStatistics;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::write::{
    array_to_columns, to_parquet_schema, write_def_levels, CompressedPage, Compressor, DynIter, Encoding, Page,
    SchemaDescriptor, Version, WriteOptions,
};
use tally_ledger::frame::parquet_options;
use tally_ledger::schema;
use tally_ledger::{Money, MONEY_SCALE};

use crate::convert::{ConvertStats, MonthStats};

/// Bytes of CSV per chunk (about 20,000 CUR records): large enough that the per-frame costs
/// (allocation, one Parquet row group) do not count, small enough to keep memory low.
pub(crate) const CHUNK: usize = 40 << 20;

/// Bytes of Parquet gathered before each write to the output file.
const WRITE_BUFFER: usize = 4 << 20;

/// How many chunks past the last one written a worker may start.
const AHEAD: usize = 4;

/// A format's direct reader of one file.
pub(crate) trait ChunkMapper: Sync {
    /// The records: the file after its header.
    fn body(&self) -> polars_buffer::Buffer<u8>;
    /// Maps whole records into a ledger frame whose `x_source_row` counts from 1 in the chunk,
    /// or `None` when these records need the general (Polars) reader. With `conform`, the frame
    /// is already what `conform_focus` makes of it and is written as it is: text columns may
    /// then come as dictionaries only ([`Part::Dictionary`]).
    fn map(&self, records: polars_buffer::Buffer<u8>, conform: bool) -> Option<Mapped>;
    /// The chunk `range` of the body has been encoded: its bytes are not needed any more.
    fn done(&self, _range: Range<usize>) {}
}

/// One column of a mapped chunk.
pub(crate) enum Part {
    /// The column as Polars holds it, written as Polars' own writer writes it.
    Column(Column),
    /// A text (or timestamp) column held only as the dictionary its reader built while mapping
    /// it (the distinct values, and a key per row), written as the column's Parquet dictionary:
    /// the column itself is never built.
    Dictionary(PlSmallStr, DictionaryArray<u32>),
}

impl Part {
    fn name(&self) -> &str {
        match self {
            Part::Column(c) => c.name(),
            Part::Dictionary(name, _) => name,
        }
    }

    /// Each row's text (`None` where empty).
    fn texts(&self) -> PolarsResult<Vec<Option<&str>>> {
        match self {
            Part::Column(c) => Ok(c.as_materialized_series().str()?.iter().collect()),
            Part::Dictionary(name, dict) => {
                let values = text_values(name, dict)?;
                Ok(dict.keys().iter().map(|k| k.and_then(|&k| values.get(k as usize))).collect())
            }
        }
    }

    fn field(&self) -> (PlSmallStr, DataType) {
        match self {
            Part::Column(c) => (c.name().clone(), c.dtype().clone()),
            Part::Dictionary(name, dict) => (name.clone(), DataType::from_arrow_dtype(dict.values().dtype())),
        }
    }

    /// The column itself (a dictionary's values looked up by key).
    pub(crate) fn into_column(self) -> PolarsResult<Column> {
        match self {
            Part::Column(c) => Ok(c),
            Part::Dictionary(name, dict) => match dict.values().as_any().downcast_ref::<PrimitiveArray<i64>>() {
                // Timestamps: each row's value looked up, then typed as the dictionary's values are.
                Some(values) => {
                    let all = values.values();
                    let rows = dict.keys().iter().map(|k| k.and_then(|&k| all.get(k as usize).copied()));
                    let dtype = DataType::from_arrow_dtype(values.dtype());
                    Int64Chunked::from_iter_options(name, rows).into_series().cast(&dtype).map(Column::from)
                }
                None => crate::views::gathered(&name, text_values(&name, &dict)?, dict.keys()),
            },
        }
    }
}

/// The distinct values of the dictionary of text column `name`.
fn text_values<'a>(name: &str, dict: &'a DictionaryArray<u32>) -> PolarsResult<&'a Utf8ViewArray> {
    let values = dict.values().as_any().downcast_ref::<Utf8ViewArray>();
    values.ok_or_else(|| polars_err!(ComputeError: "column {name}: a dictionary not of text"))
}

/// A mapped chunk: its height and its columns, in ledger order.
pub(crate) struct Mapped {
    pub height: usize,
    pub parts: Vec<Part>,
}

impl Mapped {
    /// The frame (for a step that reads the rows before they are written).
    fn into_frame(self) -> PolarsResult<DataFrame> {
        let columns = self.parts.into_iter().map(Part::into_column).collect::<PolarsResult<Vec<_>>>()?;
        DataFrame::new(self.height, columns)
    }

    fn from_frame(df: DataFrame) -> Mapped {
        Mapped { height: df.height(), parts: df.into_columns().into_iter().map(Part::Column).collect() }
    }

    fn schema(&self) -> Schema {
        self.parts.iter().map(Part::field).collect()
    }

    /// Rows and Σ BilledCost and EffectiveCost per billing month and currency (as
    /// [`crate::convert::stats`] totals a written file).
    fn totals(&self) -> PolarsResult<ConvertStats> {
        let part = |name: &str| {
            self.parts.iter().find(|p| p.name() == name).ok_or_else(|| polars_err!(ColumnNotFound: "{name}"))
        };
        let (months, currencies) = (part(schema::X_BILLING_MONTH)?.texts()?, part("BillingCurrency")?.texts()?);
        let money = |name: &str| -> PolarsResult<Vec<Option<i128>>> {
            let Part::Column(c) = part(name)? else { polars_bail!(ComputeError: "{name} is not money") };
            let d = c.as_materialized_series().decimal()?.clone();
            polars_ensure!(d.scale() == MONEY_SCALE, ComputeError: "{name} is not of scale {MONEY_SCALE}");
            Ok(d.physical().iter().collect())
        };
        let (billed, effective) = (money("BilledCost")?, money("EffectiveCost")?);
        let overflow = || polars_err!(ComputeError: "a total past 38 digits");
        let mut out = ConvertStats::default();
        // The month and currency of a run of rows, and their totals.
        type Run<'a> = ((Option<&'a str>, Option<&'a str>), MonthStats);
        let mut run: Option<Run<'_>> = None;
        for (((m, c), b), e) in months.iter().zip(&currencies).zip(&billed).zip(&effective) {
            let key = (*m, *c);
            if run.as_ref().is_some_and(|(k, _)| *k != key) {
                if let Some(((m, c), sums)) = run.take() {
                    out.add_month(m.unwrap_or_default(), c.unwrap_or_default(), sums);
                }
            }
            let sums = &mut run.get_or_insert_with(|| (key, MonthStats::default())).1;
            sums.rows += 1;
            sums.billed_cost = sums.billed_cost.checked_add(Money::from_raw(b.unwrap_or(0))).ok_or_else(overflow)?;
            sums.effective_cost =
                sums.effective_cost.checked_add(Money::from_raw(e.unwrap_or(0))).ok_or_else(overflow)?;
        }
        if let Some(((m, c), sums)) = run {
            out.add_month(m.unwrap_or_default(), c.unwrap_or_default(), sums);
        }
        Ok(out)
    }

    /// Adds `offset` to every `x_source_row` (rows then count from the start of the file).
    fn offset_rows(&mut self, offset: i64) -> PolarsResult<()> {
        for part in &mut self.parts {
            if let Part::Column(c) = part {
                if c.name() == schema::X_SOURCE_ROW {
                    *c = (c.i64()? + offset).into_column();
                }
            }
        }
        Ok(())
    }
}

/// Ranges of `body` of about `target` bytes, each ending after a newline (or at the end), the
/// last few smaller so that no core waits long for the last one.
///
/// A newline inside a quoted field would cut a record in two: the chunk before it then ends
/// inside an open quote, which its reader declines, so the cut is never taken for a record end.
/// (Finding the true record ends first would take a pass over the whole file before any work.)
pub(crate) fn chunks(body: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < body.len() {
        let left = body.len() - start;
        let size = if left < 3 * target { (target / 3).max(1) } else { target };
        let nominal = start.saturating_add(size);
        let end = if nominal >= body.len() {
            body.len()
        } else {
            memchr::memchr(b'\n', &body[nominal - 1..]).map_or(body.len(), |k| nominal + k)
        };
        out.push(start..end);
        start = end;
    }
    out
}

/// How every row group of one file is encoded (the same as Polars' own Parquet writer).
struct Encoder {
    schema: Schema,
    parquet: SchemaDescriptor,
    encodings: Vec<Vec<Encoding>>,
    options: WriteOptions,
}

impl Encoder {
    fn new(schema: &Schema) -> PolarsResult<Encoder> {
        let arrow = schema.to_arrow(CompatLevel::newest());
        let options = parquet_options();
        Ok(Encoder {
            schema: schema.clone(),
            parquet: to_parquet_schema(&arrow)?,
            encodings: get_encodings(&arrow).iter().cloned().collect(),
            options: WriteOptions {
                statistics: options.statistics,
                compression: options.compression.into(),
                version: Version::V1,
                data_page_size: options.data_page_size,
            },
        })
    }

    /// One row group: every column's pages, encoded and compressed. A column given as a
    /// dictionary is written with it. `x_source_row` is encoded last, once `offset` (the rows of
    /// the file before the chunk) has been added to it: working out the offset may wait for
    /// another worker to finish mapping the chunk before, which the other columns need not.
    fn encode(&self, chunk: &mut Mapped, offset: impl FnOnce() -> i64) -> PolarsResult<Vec<Vec<CompressedPage>>> {
        polars_ensure!(chunk.schema() == self.schema, SchemaMismatch: "a chunk's columns differ from the first chunk's");
        let rows = chunk.parts.iter().position(|p| p.name() == schema::X_SOURCE_ROW);
        let mut out = Vec::with_capacity(chunk.parts.len());
        for (i, part) in chunk.parts.iter().enumerate() {
            if Some(i) != rows {
                out.push(self.encode_column(i, part)?);
            }
        }
        if let Some(i) = rows {
            let offset = offset();
            if offset > 0 {
                chunk.offset_rows(offset)?;
            }
            out.insert(i, self.encode_column(i, &chunk.parts[i])?);
        }
        Ok(out)
    }

    /// The pages of column `i`.
    fn encode_column(&self, i: usize, part: &Part) -> PolarsResult<Vec<CompressedPage>> {
        if let (Part::Column(c), ParquetType::PrimitiveType(type_)) = (part, &self.parquet.fields()[i]) {
            if let Some(pages) = money_pages(c, type_, self.options)? {
                let pages = DynIter::new(pages.into_iter().map(Ok));
                let compressed = Compressor::new_from_vec(pages, self.options.compression, vec![]);
                return compressed.collect::<Result<Vec<_>, _>>().map_err(PolarsError::from);
            }
        }
        let (array, encodings) = match part {
            Part::Dictionary(_, dict) => (dict.clone().boxed(), &[Encoding::RleDictionary][..]),
            // A column with no value: nothing to look for a dictionary in.
            Part::Column(c) if c.null_count() == c.len() => {
                (c.as_materialized_series().rechunk().to_arrow(0, CompatLevel::newest()), &[Encoding::Plain][..])
            }
            // Row numbers count up by one: delta-encoded, each page is a few bytes (plain, eight
            // bytes a row, and Polars first looks for a dictionary in them).
            Part::Column(c) if c.name() == schema::X_SOURCE_ROW && c.null_count() == 0 => (
                c.as_materialized_series().rechunk().to_arrow(0, CompatLevel::newest()),
                &[Encoding::DeltaBinaryPacked][..],
            ),
            Part::Column(c) => {
                (c.as_materialized_series().rechunk().to_arrow(0, CompatLevel::newest()), &self.encodings[i][..])
            }
        };
        // A flat column is one leaf: one list of pages.
        let mut leaves = array_to_columns(array, self.parquet.fields()[i].clone(), self.options, encodings)?;
        polars_ensure!(leaves.len() == 1, ComputeError: "column {} is not flat", part.name());
        let pages = leaves.remove(0).map(|p| p.map_err(|e| ParquetError::FeatureNotSupported(e.to_string())));
        let compressed = Compressor::new_from_vec(pages, self.options.compression, vec![]);
        compressed.collect::<Result<Vec<_>, _>>().map_err(PolarsError::from)
    }
}

/// The pages of money column `c` (a `Decimal(38, _)`: 16 bytes a value), byte for byte as
/// Polars' writer makes them, or `None` for any other column.
///
/// Polars' writer always writes such a column plain (it tries a dictionary first: it estimates
/// the distinct values, hashing each, then fails to cast decimals to a dictionary), and goes over
/// it four more times with a call per value: the largest, the smallest, a copy into 16-byte
/// big-endian cells, a copy of the cells that are set into the page. Here one pass does it all.
fn money_pages(c: &Column, type_: &ParquetPrimitiveType, options: WriteOptions) -> PolarsResult<Option<Vec<Page>>> {
    const SIZE: usize = 16;
    // Polars' own page size when none is set, and the largest it allows.
    const DEFAULT_PAGE_SIZE: usize = 1 << 20;
    const MAX_PAGE_SIZE: usize = (1 << 31) - (1 << 25);
    if !matches!(c.dtype(), DataType::Decimal(38, _)) || options.version != Version::V1 || c.is_empty() {
        return Ok(None);
    }
    let arrow = c.as_materialized_series().rechunk().to_arrow(0, CompatLevel::newest());
    let Some(array) = arrow.as_any().downcast_ref::<PrimitiveArray<i128>>() else { return Ok(None) };
    // Pages cut where Polars cuts them.
    let rows = array.len();
    let validity_bytes = array.validity().map_or(0, |v| v.as_slice().0.len());
    let bytes_per_row = (SIZE * rows + validity_bytes) / rows;
    let max_page = options.data_page_size.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE);
    let rows_per_page = (max_page / (bytes_per_row + 1)).max(1);
    let optional = type_.field_info.repetition == Repetition::Optional;
    let stats = options.statistics;
    let mut pages = Vec::with_capacity(rows.div_ceil(rows_per_page));
    for offset in (0..rows).step_by(rows_per_page) {
        let length = rows_per_page.min(rows - offset);
        let page = array.clone().sliced(offset, length);
        let mut buffer = Vec::with_capacity(SIZE * length + length / 8 + 16);
        write_def_levels(&mut buffer, optional, page.validity(), length, options.version)?;
        let levels = buffer.len();
        let nulls = page.null_count();
        buffer.resize(levels + SIZE * (length - nulls), 0);
        let mut cells = buffer[levels..].chunks_exact_mut(SIZE);
        let (mut min, mut max) = (i128::MAX, i128::MIN);
        let mut put = |v: i128| {
            if let Some(cell) = cells.next() {
                cell.copy_from_slice(&v.to_be_bytes());
            }
            min = min.min(v);
            max = max.max(v);
        };
        match page.validity() {
            None => page.values().iter().for_each(|&v| put(v)),
            Some(valid) => page.values().iter().zip(valid.iter()).filter(|(_, ok)| *ok).for_each(|(&v, _)| put(v)),
        }
        let any = nulls < length;
        let statistics = FixedLenStatistics {
            primitive_type: type_.clone(),
            null_count: stats.null_count.then_some(nulls as i64),
            distinct_count: None,
            max_value: (stats.max_value && any).then(|| max.to_be_bytes().to_vec()),
            min_value: (stats.min_value && any).then(|| min.to_be_bytes().to_vec()),
        };
        let header = DataPageHeader::V1(DataPageHeaderV1 {
            num_values: length as i32,
            encoding: Encoding::Plain.into(),
            definition_level_encoding: Encoding::Rle.into(),
            repetition_level_encoding: Encoding::Rle.into(),
            statistics: options.has_statistics().then(|| statistics.serialize()),
        });
        let descriptor = Descriptor { primitive_type: type_.clone(), max_def_level: 0, max_rep_level: 0 };
        pages.push(Page::Data(DataPage::new(header, CowBuffer::Owned(buffer), descriptor, length)));
    }
    Ok(Some(pages))
}

/// A frame mapped, post-processed and encoded: its rows, its row group's pages and its totals.
type Encoded = (usize, Vec<Vec<CompressedPage>>, ConvertStats);

/// What happens to each mapped frame before it is written (user rules, then FOCUS conformance),
/// given the index of its reader. Without it, readers conform the frames themselves.
pub(crate) type Post<'a> = dyn Fn(usize, DataFrame) -> PolarsResult<DataFrame> + Sync + 'a;

/// Converts the files of `readers`, in order, into one Parquet file at `dest`, in chunks of
/// about `chunk` bytes, and totals the rows written. `Ok(None)` when a reader declined a chunk:
/// `dest` is then removed and the caller converts another way.
pub(crate) fn convert(
    readers: &[&dyn ChunkMapper],
    post: Option<&Post<'_>>,
    dest: &Path,
    chunk: usize,
) -> PolarsResult<Option<ConvertStats>> {
    let jobs: Vec<(usize, Range<usize>)> = readers
        .iter()
        .enumerate()
        .flat_map(|(r, reader)| chunks(&reader.body(), chunk).into_iter().map(move |c| (r, c)))
        .collect();
    if jobs.is_empty() {
        return Ok(None);
    }
    let result = run(readers, &jobs, post, dest);
    if !matches!(result, Ok(Some(_))) {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn run(
    readers: &[&dyn ChunkMapper],
    jobs: &[(usize, Range<usize>)],
    post: Option<&Post<'_>>,
    dest: &Path,
) -> PolarsResult<Option<ConvertStats>> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, jobs.len());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let written = (Mutex::new(0usize), Condvar::new());
    // The rows of each chunk, once mapped (0 for one that is not).
    let heights = (Mutex::new(vec![None::<i64>; jobs.len()]), Condvar::new());
    let encoder: OnceLock<PolarsResult<Encoder>> = OnceLock::new();
    let (tx, rx) = mpsc::channel::<(usize, Option<PolarsResult<Encoded>>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, written, encoder, heights) = (&next, &stop, &written, &encoder, &heights);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= jobs.len() {
                    return;
                }
                {
                    let (lock, cv) = written;
                    let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while k >= *done + AHEAD && !stop.load(Ordering::Relaxed) {
                        done = cv.wait(done).unwrap_or_else(|e| e.into_inner());
                    }
                }
                let (r, range) = &jobs[k];
                // After a stop the chunk is not read, but its row count is still published (as
                // every claimed chunk's is) so that no worker waits for it.
                let mapped = if stop.load(Ordering::Relaxed) {
                    None
                } else {
                    guarded(|| Ok(readers[*r].map(readers[*r].body().sliced(range.clone()), post.is_none())))
                        .transpose()
                };
                {
                    let (lock, cv) = heights;
                    lock.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(match &mapped {
                        Some(Ok(m)) => m.height as i64,
                        _ => 0,
                    });
                    cv.notify_all();
                }
                // Row numbers count from the start of the file: the rows of its chunks before
                // this one, waited for (if still being mapped) only when they are needed.
                let first = (0..k).rev().take_while(|&j| jobs[j].0 == *r).last().unwrap_or(k);
                let offset = || {
                    let (lock, cv) = heights;
                    let mut h = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while h[first..k].iter().any(Option::is_none) && !stop.load(Ordering::Relaxed) {
                        h = cv.wait(h).unwrap_or_else(|e| e.into_inner());
                    }
                    h[first..k].iter().map(|n| n.unwrap_or(0)).sum::<i64>()
                };
                let frame = mapped.map(|m| {
                    guarded(|| {
                        let mut chunk = m?;
                        let mut offset = Some(offset);
                        if let Some(post) = post {
                            // The frame may change: its columns are encoded from what it becomes.
                            if let Some(n) = offset.take().map(|f| f()).filter(|&n| n > 0) {
                                chunk.offset_rows(n)?;
                            }
                            chunk = Mapped::from_frame(post(*r, chunk.into_frame()?)?);
                        }
                        let encoder = encoder
                            .get_or_init(|| Encoder::new(&chunk.schema()))
                            .as_ref()
                            .map_err(|e| e.wrap_msg(|m| m.to_string()))?;
                        let pages = encoder.encode(&mut chunk, || offset.map_or(0, |f| f()))?;
                        Ok((chunk.height, pages, chunk.totals()?))
                    })
                });
                readers[*r].done(range.clone());
                if tx.send((k, frame)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let result = write_in_order(jobs, &rx, &written, &encoder, dest);
        // Set under the locks the workers wait with, so that none misses the wake-up.
        {
            let _done = written.0.lock().unwrap_or_else(|e| e.into_inner());
            stop.store(true, Ordering::Relaxed);
        }
        written.1.notify_all();
        drop(heights.0.lock().unwrap_or_else(|e| e.into_inner()));
        heights.1.notify_all();
        result
    })
}

/// Runs `f`, turning a panic into an error (so that a bug in a reader fails the conversion
/// instead of leaving the other workers waiting for its chunk).
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(polars_err!(ComputeError: "the direct reader failed on a chunk")))
}

fn write_in_order(
    jobs: &[(usize, Range<usize>)],
    rx: &mpsc::Receiver<(usize, Option<PolarsResult<Encoded>>)>,
    written: &(Mutex<usize>, Condvar),
    encoder: &OnceLock<PolarsResult<Encoder>>,
    dest: &Path,
) -> PolarsResult<Option<ConvertStats>> {
    let options = parquet_options();
    let mut totals = ConvertStats::default();
    // Polars' writer makes a write call per page header and per page (a quarter of a million
    // for a 1M-row CUR): they go through a buffer.
    let mut file: Option<BufWriter<std::fs::File>> = None;
    let mut writer = None;
    let mut pending = BTreeMap::new();
    for k in 0..jobs.len() {
        let frame = loop {
            if let Some(f) = pending.remove(&k) {
                break f;
            }
            match rx.recv() {
                Ok((i, f)) => {
                    pending.insert(i, f);
                }
                Err(_) => polars_bail!(ComputeError: "a conversion worker stopped"),
            }
        };
        let Some(frame) = frame else { return Ok(None) };
        let (rows, pages, chunk_totals) = frame?;
        totals.add(chunk_totals);
        if writer.is_none() {
            let Some(Ok(encoder)) = encoder.get() else {
                polars_bail!(ComputeError: "no Parquet encoder for the first row group");
            };
            if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let file = file.insert(BufWriter::with_capacity(WRITE_BUFFER, std::fs::File::create(dest)?));
            writer = Some(
                ParquetWriter::new(file)
                    .with_compression(options.compression)
                    .with_statistics(options.statistics)
                    .batched(&encoder.schema)?,
            );
        }
        if let Some(w) = writer.as_mut() {
            w.write_row_group(rows as u64, &pages)?;
        }
        let (lock, cv) = written;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = k + 1;
        cv.notify_all();
    }
    match writer {
        Some(w) => {
            w.finish()?;
            if let Some(f) = file.as_mut() {
                f.flush()?;
            }
            Ok(Some(totals))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Money pages written in one pass are the ones Polars' writer makes, byte for byte: page
    /// cuts, levels, values and statistics; with and without empty cells, pages with none or
    /// only empty ones, negative amounts, the extremes of 38 digits, and few distinct amounts
    /// (Polars writes those plain too).
    #[test]
    fn money_pages_are_the_ones_polars_writes() {
        use polars_parquet::write::StatisticsOptions;
        let rows = 5_000usize;
        let extreme = 10i128.pow(38) - 1;
        type Set = fn(usize) -> bool;
        let patterns: [(&str, Set); 5] = [
            ("no empty cell", |_| true),
            ("every seventh empty", |i| i % 7 != 3),
            ("one page all empty, one page all set", |i| !(700..1400).contains(&i) && (i < 2800 || i % 5 != 0)),
            ("only the last empty", |i| i != 4_999),
            ("all empty", |_| false),
        ];
        for (what, set) in patterns {
            for distinct in [rows, 29] {
                let values = (0..rows).map(|i| {
                    let v = match i % distinct {
                        0 => extreme,
                        1 => -extreme,
                        k => (k as i128 * 7_919 - 20_000) * 1_000_000_000_000_017,
                    };
                    set(i).then_some(v)
                });
                let ca = Int128Chunked::from_iter_options("BilledCost".into(), values);
                let column = ca.into_decimal_unchecked(38, MONEY_SCALE).into_column();
                let schema = Schema::from_iter([column.field().into_owned()]);
                let parquet = to_parquet_schema(&schema.to_arrow(CompatLevel::newest())).unwrap();
                let ParquetType::PrimitiveType(type_) = &parquet.fields()[0] else { panic!("not a primitive") };
                for statistics in [StatisticsOptions::default(), StatisticsOptions::empty()] {
                    let options = WriteOptions {
                        statistics,
                        compression: polars_parquet::write::CompressionOptions::Uncompressed,
                        version: Version::V1,
                        data_page_size: Some(700 * 17),
                    };
                    let what = format!("{what}, {distinct} distinct, {statistics:?}");
                    let ours = money_pages(&column, type_, options).unwrap().expect("a money column");
                    let array = column.as_materialized_series().to_arrow(0, CompatLevel::newest());
                    let encodings = get_encodings(&schema.to_arrow(CompatLevel::newest()));
                    let theirs: Vec<Page> =
                        array_to_columns(array, parquet.fields()[0].clone(), options, &encodings[0])
                            .unwrap()
                            .remove(0)
                            .collect::<PolarsResult<_>>()
                            .unwrap();
                    assert_eq!(ours.len(), theirs.len(), "{what}");
                    assert!(ours.len() > 5, "{what}: {} pages", ours.len());
                    for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                        let (Page::Data(a), Page::Data(b)) = (a, b) else { panic!("{what}: a dictionary page") };
                        assert_eq!(format!("{:?}", a.header()), format!("{:?}", b.header()), "{what}, page {k}");
                        assert_eq!(a.num_rows(), b.num_rows(), "{what}, page {k}");
                        assert!(a.buffer() == b.buffer(), "{what}, page {k}: the bytes differ");
                    }
                }
            }
        }
        let other = Int64Chunked::from_iter_values("x_source_row".into(), 0..5_000i64).into_column();
        let schema = Schema::from_iter([other.field().into_owned()]);
        let parquet = to_parquet_schema(&schema.to_arrow(CompatLevel::newest())).unwrap();
        let ParquetType::PrimitiveType(type_) = &parquet.fields()[0] else { panic!("not a primitive") };
        let options = Encoder::new(&schema).unwrap().options;
        assert!(money_pages(&other, type_, options).unwrap().is_none());
    }

    #[test]
    fn chunks_cover_the_body_and_end_after_newlines() {
        let body = b"a,1\n\"b\nb\",2\nc,3\n\"d\"\"\n\",4\ne,5";
        for target in 1..body.len() + 2 {
            let cs = chunks(body, target);
            assert_eq!(cs.first().map(|c| c.start), Some(0));
            assert_eq!(cs.last().map(|c| c.end), Some(body.len()));
            for w in cs.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(body[w[0].end - 1], b'\n', "target {target}");
            }
        }
        assert!(chunks(b"", 10).is_empty());
    }
}
