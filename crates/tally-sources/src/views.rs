//! String columns built from views into a buffer the caller has already checked.
#![allow(unsafe_code)]

use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::bitmap::Bitmap;
use polars_buffer::Buffer;

/// A string column from `views` into `buffers`.
///
/// The caller guarantees that every non-inline view was made by `View::new_from_bytes` from a
/// `&str` that lies, at the view's offset, in the buffer the view names, so each view is in
/// bounds and valid UTF-8. Debug builds (the tests) check this with Arrow's own validation.
pub(crate) fn utf8_column(
    name: &str,
    views: Vec<View>,
    buffers: Vec<Buffer<u8>>,
    validity: Option<Bitmap>,
) -> PolarsResult<Column> {
    let array = utf8_array_with(views, buffers, validity)?;
    Ok(StringChunked::with_chunk(name.into(), array).into_column())
}

/// The column whose row `i` is `values[keys[i]]` (null where the key is). The views are copied
/// from `values`, a valid array over the same buffers, so they keep [`utf8_column`]'s guarantee.
pub(crate) fn gathered(name: &str, values: &Utf8ViewArray, keys: &PrimitiveArray<u32>) -> PolarsResult<Column> {
    polars_ensure!(values.null_count() == 0, ComputeError: "column {name}: a dictionary with an empty value");
    let all = values.views();
    let views = keys
        .iter()
        .map(|k| match k {
            None => Ok(View::default()),
            Some(&k) => all.get(k as usize).copied().ok_or_else(|| polars_err!(OutOfBounds: "dictionary key {k}")),
        })
        .collect::<PolarsResult<Vec<View>>>()?;
    utf8_column(name, views, values.data_buffers().iter().cloned().collect(), keys.validity().cloned())
}

/// A string array of non-null `views` into `buffers` (same guarantee as [`utf8_column`]).
pub(crate) fn utf8_array(views: Vec<View>, buffers: Vec<Buffer<u8>>) -> PolarsResult<Utf8ViewArray> {
    utf8_array_with(views, buffers, None)
}

fn utf8_array_with(
    views: Vec<View>,
    buffers: Vec<Buffer<u8>>,
    validity: Option<Bitmap>,
) -> PolarsResult<Utf8ViewArray> {
    let buffers: Buffer<Buffer<u8>> = buffers.into();
    if cfg!(debug_assertions) {
        Utf8ViewArray::try_new(ArrowDataType::Utf8View, views.into(), buffers, validity)
    } else {
        // SAFETY: see `utf8_column`; the debug builds validate the same views.
        Ok(unsafe {
            Utf8ViewArray::new_unchecked_unknown_md(ArrowDataType::Utf8View, views.into(), buffers, validity, None)
        })
    }
}
