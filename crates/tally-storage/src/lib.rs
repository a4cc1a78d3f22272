//! Object storage by URL: local paths, `file://`, `s3://`, `gs://`, `az://`/`abfs://` and
//! `memory://`, with listing by prefix or glob, streaming downloads (gzip aware) and uploads.
//!
//! One factory, [`Location::open`], turns a URL into a store and a key prefix. Credentials and
//! endpoints come from each cloud's standard environment variables and are never printed.

mod error;
mod location;

pub use error::StorageError;
pub use location::{Location, ObjectInfo, Scheme};
