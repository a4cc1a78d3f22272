//! Local CSV inputs handed to Polars as a memory map whose pages are let go behind the reader.
//!
//! Polars parses a memory-mapped CSV without copying it, which is the fastest way it reads
//! (about a tenth faster than streamed reads here, which copy every byte twice). But every page
//! it touches stays resident until the map is dropped, so a plain map's memory grows with the
//! file: 1.2 GB for a 1 GB export. Here a small thread tells the kernel every few milliseconds
//! that the mapped pages are not needed (`MADV_DONTNEED`). For a read-only map of a file this
//! only drops the process's page-table entries: the bytes stay in the page cache and a page that
//! is still being parsed is mapped again, with the same contents, on its next access. Resident
//! memory stays bounded by what is read in one interval, whatever the file's size.
//!
//! This is one of the two places tally uses `unsafe` (mapping a file, and the advice; the
//! other is `views.rs`, the direct CUR reader's string views). Like every
//! memory map (Polars' own included) it assumes the file is not truncated while it is read:
//! inputs are finished export files, or tally's own scratch copies.
#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use memmap2::{Mmap, UncheckedAdvice};
use polars::prelude::{PlRefPath, ScanSources};

/// Files up to this size are mapped whole (a nightly run reads many small exports: no thread
/// for each).
const TRIM_ABOVE: u64 = 64 << 20;

/// How often mapped pages are let go.
const TRIM_EVERY: Duration = Duration::from_millis(20);

struct Mapped(Arc<Mmap>);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.0[..]
    }
}

/// The scan source for a local CSV file: its memory map when it can be mapped, else the path
/// (read by Polars itself).
pub(crate) fn csv_sources(path: &Path) -> ScanSources {
    map(path).unwrap_or_else(|| ScanSources::Paths(vec![PlRefPath::new(path.to_string_lossy().as_ref())].into()))
}

fn map(path: &Path) -> Option<ScanSources> {
    map_bytes(path).map(|buffer| ScanSources::Buffers([buffer].into()))
}

/// The bytes of a local file as a memory map whose pages are let go behind the reader (`None`
/// when it cannot be mapped, or is empty).
pub(crate) fn map_bytes(path: &Path) -> Option<polars_buffer::Buffer<u8>> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this process. The file must not be truncated
    // or rewritten while it is read (see the module documentation).
    let map = Arc::new(unsafe { Mmap::map(&file) }.ok()?);
    if len > TRIM_ABOVE {
        let trimmer = Arc::downgrade(&map);
        std::thread::Builder::new().name("tally-unmap".into()).spawn(move || trim(trimmer)).ok()?;
    }
    Some(polars_buffer::Buffer::from_owner(Mapped(map)))
}

/// A memory-mapped file whose reader says which pages it is done with (no trimming thread).
pub(crate) struct Released {
    map: Arc<Mmap>,
}

/// The bytes of a local file as a memory map, and the handle that lets go of the pages read
/// (`None` when it cannot be mapped, or is empty).
pub(crate) fn map_released(path: &Path) -> Option<(polars_buffer::Buffer<u8>, Released)> {
    let file = File::open(path).ok()?;
    if file.metadata().ok()?.len() == 0 {
        return None;
    }
    // SAFETY: as in `map_bytes`.
    let map = Arc::new(unsafe { Mmap::map(&file) }.ok()?);
    Some((polars_buffer::Buffer::from_owner(Mapped(Arc::clone(&map))), Released { map }))
}

impl Released {
    /// Lets go of the whole pages within `range` of the file (the reader is done with them).
    pub(crate) fn release(&self, range: std::ops::Range<usize>) {
        const PAGE: usize = 4096;
        let start = range.start.div_ceil(PAGE) * PAGE;
        let end = (range.end / PAGE * PAGE).min(self.map.len());
        if end > start {
            // SAFETY: as in `trim`: the pages of a read-only file map are only unmapped, and read
            // again, the same, if anything still looks at them.
            let _ = unsafe { self.map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start) };
        }
    }
}

/// Lets go of the map's resident pages every [`TRIM_EVERY`] until the map itself is dropped.
fn trim(map: Weak<Mmap>) {
    loop {
        std::thread::sleep(TRIM_EVERY);
        let Some(map) = map.upgrade() else { return };
        // SAFETY: for a read-only file mapping MADV_DONTNEED only unmaps pages; the next access
        // maps the same file contents again, so readers of the slice observe no change.
        let _ = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_file_reads_the_same_while_its_pages_are_let_go() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.csv");
        let body: Vec<u8> = (0..(TRIM_ABOVE as u32 + 4_000_000)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &body)?;
        let Some(ScanSources::Buffers(buffers)) = map(&path) else {
            return Err(std::io::Error::other("the file was not mapped"));
        };
        let mapped = &buffers[0];
        for _ in 0..5 {
            assert!(mapped.as_ref() == body.as_slice());
            std::thread::sleep(TRIM_EVERY);
        }
        Ok(())
    }

    #[test]
    fn an_empty_file_is_left_to_polars() {
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().join("empty.csv")).unwrap_or_default();
        let _ = std::fs::write(&path, b"");
        assert!(matches!(csv_sources(&path), ScanSources::Paths(_)));
    }
}
