//! [`Location`]: a store plus a key prefix (and maybe a glob), built from a URL.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use globset::{GlobBuilder, GlobMatcher};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::StorageError;

/// The kind of store behind a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// A local path or `file://` URL.
    Local,
    /// `memory://NAME`: an in-process store shared by name (tests).
    Memory,
    /// `s3://bucket/…`
    S3,
    /// `gs://bucket/…`
    Gcs,
    /// `az://container/…`, `abfs[s]://container@account.dfs.core.windows.net/…`
    Azure,
}

/// One object found under a [`Location`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key in the store.
    pub location: Path,
    /// Key relative to the location's prefix.
    pub rel: String,
    /// How the object is named to users: the location's URL as given, joined with `rel`.
    pub display: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag, when the store gives one.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
}

/// A store and a key prefix, optionally narrowed by a glob, built from a URL.
#[derive(Clone, Debug)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    scheme: Scheme,
    prefix: Path,
    glob: Option<GlobMatcher>,
    display_base: String,
    local_root: Option<PathBuf>,
}

fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    let map = STORES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = match map.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(name.to_string()).or_insert_with(|| Arc::new(InMemory::new())).clone()
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Whether instance metadata / managed identity credentials may be used (opt-in, since probing
/// a metadata endpoint off-cloud hangs and hides a missing credential).
fn metadata_allowed() -> bool {
    std::env::var("TALLY_CLOUD_METADATA").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn check_credentials(scheme: Scheme, url: &str) -> Result<(), StorageError> {
    let (ok, hint) = match scheme {
        Scheme::S3 => (
            (env_set("AWS_ACCESS_KEY_ID") && env_set("AWS_SECRET_ACCESS_KEY"))
                || env_set("AWS_WEB_IDENTITY_TOKEN_FILE")
                || env_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                || env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                || std::env::var("AWS_SKIP_SIGNATURE").is_ok_and(|v| v == "true"),
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_WEB_IDENTITY_TOKEN_FILE, ECS container credentials, \
             AWS_SKIP_SIGNATURE=true for public buckets, or TALLY_CLOUD_METADATA=1 to use the instance role)",
        ),
        Scheme::Gcs => (
            env_set("GOOGLE_SERVICE_ACCOUNT")
                || env_set("GOOGLE_SERVICE_ACCOUNT_PATH")
                || env_set("GOOGLE_SERVICE_ACCOUNT_KEY")
                || env_set("GOOGLE_APPLICATION_CREDENTIALS")
                || std::env::var("GOOGLE_SKIP_SIGNATURE").is_ok_and(|v| v == "true"),
            "set GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT_KEY, or TALLY_CLOUD_METADATA=1 to use the VM's service account)",
        ),
        Scheme::Azure => (
            env_set("AZURE_STORAGE_ACCOUNT_KEY")
                || env_set("AZURE_STORAGE_ACCESS_KEY")
                || env_set("AZURE_STORAGE_SAS_KEY")
                || env_set("AZURE_STORAGE_TOKEN")
                || env_set("AZURE_CLIENT_SECRET")
                || env_set("AZURE_FEDERATED_TOKEN_FILE")
                || std::env::var("AZURE_STORAGE_USE_EMULATOR").is_ok_and(|v| v == "true"),
            "set AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY (or a service principal: \
             AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID; or TALLY_CLOUD_METADATA=1 for a managed identity)",
        ),
        Scheme::Local | Scheme::Memory => (true, ""),
    };
    if ok || metadata_allowed() {
        Ok(())
    } else {
        Err(StorageError::MissingCredentials { url: url.to_string(), hint: hint.to_string() })
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Splits `a/b/*/c.csv` into the literal prefix `a/b` and the glob `*/c.csv`.
fn split_glob(key: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.iter().position(|p| has_glob(p)) {
        None => (key.to_string(), None),
        Some(i) => (parts[..i].join("/"), Some(parts[i..].join("/"))),
    }
}

fn store_err(action: &'static str, object: impl Into<String>) -> impl FnOnce(object_store::Error) -> StorageError {
    let object = object.into();
    move |source| StorageError::Store { action, object, source }
}

fn io_err<'a>(action: &'static str, path: &'a FsPath) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
    move |source| StorageError::Io { action, path: path.display().to_string(), source }
}

impl Location {
    /// Builds a location from a URL or a local path. Checks that credentials for a cloud URL are
    /// present in the environment, without contacting the service.
    pub fn open(url: &str) -> Result<Location, StorageError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StorageError::InvalidUrl { url: url.to_string(), reason: "empty".into() });
        }
        let Some((scheme_str, rest)) = url.split_once("://") else {
            return Location::open_local(url, url);
        };
        let invalid = |reason: &str| StorageError::InvalidUrl { url: url.to_string(), reason: reason.to_string() };
        match scheme_str.to_ascii_lowercase().as_str() {
            "file" => Location::open_local(rest, url),
            "memory" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                Location::from_parts(memory_store(bucket), Scheme::Memory, key, format!("memory://{bucket}"), None)
            }
            s @ ("s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss") => {
                let scheme = match s {
                    "s3" | "s3a" => Scheme::S3,
                    "gs" => Scheme::Gcs,
                    _ => Scheme::Azure,
                };
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid("no bucket or container name"));
                }
                check_credentials(scheme, url)?;
                let root = format!("{scheme_str}://{bucket}");
                let store: Arc<dyn ObjectStore> = match scheme {
                    Scheme::S3 => Arc::new(
                        AmazonS3Builder::from_env().with_url(&root).build().map_err(|e| invalid(&e.to_string()))?,
                    ),
                    Scheme::Gcs => Arc::new(
                        GoogleCloudStorageBuilder::from_env()
                            .with_url(&root)
                            .build()
                            .map_err(|e| invalid(&e.to_string()))?,
                    ),
                    _ => Arc::new(
                        MicrosoftAzureBuilder::from_env()
                            .with_url(&root)
                            .build()
                            .map_err(|e| invalid(&e.to_string()))?,
                    ),
                };
                Location::from_parts(store, scheme, key, root, None)
            }
            other => Err(StorageError::UnsupportedScheme { scheme: other.to_string(), url: url.to_string() }),
        }
    }

    fn open_local(path: &str, url: &str) -> Result<Location, StorageError> {
        let (literal, glob) = split_glob(path.trim_end_matches('/'));
        let literal = if literal.is_empty() { ".".to_string() } else { literal };
        let fs_path = FsPath::new(&literal);
        let abs = if fs_path.is_absolute() {
            fs_path.to_path_buf()
        } else {
            std::env::current_dir().map_err(io_err("reading the working directory", fs_path))?.join(fs_path)
        };
        let abs = normalize(&abs);
        let prefix = Path::from_absolute_path(&abs)
            .map_err(|e| StorageError::InvalidUrl { url: url.to_string(), reason: e.to_string() })?;
        let display_base = literal.trim_end_matches('/').to_string();
        let glob = compile_glob(glob.as_deref(), url)?;
        Ok(Location {
            store: Arc::new(LocalFileSystem::new()),
            scheme: Scheme::Local,
            prefix,
            glob,
            display_base,
            local_root: Some(abs),
        })
    }

    fn from_parts(
        store: Arc<dyn ObjectStore>,
        scheme: Scheme,
        key: &str,
        root: String,
        local_root: Option<PathBuf>,
    ) -> Result<Location, StorageError> {
        let (literal, glob) = split_glob(key.trim_end_matches('/'));
        let prefix = Path::from(literal.as_str());
        let display_base = if literal.is_empty() { root } else { format!("{root}/{literal}") };
        let glob = compile_glob(glob.as_deref(), &display_base)?;
        Ok(Location { store, scheme, prefix, glob, display_base, local_root })
    }

    /// The same location, named `display` to users (e.g. the URL as written in a pipeline
    /// file rather than the resolved path), so object names do not depend on the machine.
    pub fn with_display(mut self, display: &str) -> Location {
        self.display_base = display.trim_end_matches('/').to_string();
        if let Some(i) = self.display_base.find(['*', '?', '[', '{']) {
            let cut = self.display_base[..i].rfind('/').unwrap_or(0);
            self.display_base.truncate(cut);
        }
        self
    }

    /// Makes the object at `rel` readable as a local file (see [`Location::fetch_local`]), or
    /// `None` when it does not exist.
    pub async fn fetch_rel(&self, rel: &str, scratch: &FsPath) -> Result<Option<PathBuf>, StorageError> {
        let key = self.key(rel);
        match self.store.head(&key).await {
            Ok(meta) => {
                let info = ObjectInfo {
                    display: self.display_of(rel),
                    location: meta.location,
                    rel: rel.to_string(),
                    size: meta.size,
                    etag: meta.e_tag,
                    last_modified: meta.last_modified,
                };
                Ok(Some(self.fetch_local(&info, scratch).await?))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading", self.display_of(rel))(e)),
        }
    }

    /// The kind of store.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The location as users named it (without any glob part).
    pub fn display(&self) -> &str {
        &self.display_base
    }

    /// How the object at `rel` (relative to this location) is named to users.
    pub fn display_of(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.display_base.clone()
        } else {
            format!("{}/{rel}", self.display_base)
        }
    }

    /// The store key of `rel` (relative to this location).
    pub fn key(&self, rel: &str) -> Path {
        if self.prefix.as_ref().is_empty() {
            Path::from(rel)
        } else if rel.is_empty() {
            self.prefix.clone()
        } else {
            Path::from(format!("{}/{rel}", self.prefix.as_ref()))
        }
    }

    /// A location for the sub-prefix `rel` of this one.
    pub fn child(&self, rel: &str) -> Location {
        let mut loc = self.clone();
        loc.prefix = self.key(rel);
        loc.display_base = self.display_of(rel);
        loc.local_root = self.local_root.as_ref().map(|r| r.join(rel));
        loc.glob = None;
        loc
    }

    /// Lists the objects this location names: the object itself when the URL names one, else
    /// every object under the prefix (recursively), filtered by the glob if any. Sorted by key;
    /// hidden names (starting with `.` or `_`) are skipped.
    pub async fn list_objects(&self) -> Result<Vec<ObjectInfo>, StorageError> {
        if self.glob.is_none() && !self.prefix.as_ref().is_empty() {
            match self.store.head(&self.prefix).await {
                Ok(meta) => {
                    let rel = String::new();
                    return Ok(vec![self.info(meta, rel)]);
                }
                Err(object_store::Error::NotFound { .. }) => {}
                // A local directory answers head with an error of its own: list it instead.
                Err(_) if self.scheme == Scheme::Local && self.local_root.as_ref().is_some_and(|p| p.is_dir()) => {}
                Err(e) => return Err(store_err("reading", self.display_base.clone())(e)),
            }
        }
        let prefix = if self.prefix.as_ref().is_empty() { None } else { Some(&self.prefix) };
        if self.scheme == Scheme::Local && !self.local_root.as_ref().is_some_and(|p| p.exists()) {
            return Ok(Vec::new());
        }
        let metas: Vec<_> =
            self.store.list(prefix).try_collect().await.map_err(store_err("listing", self.display_base.clone()))?;
        let mut out = Vec::new();
        for meta in metas {
            let full = meta.location.as_ref();
            let rel = match prefix {
                Some(p) => full.strip_prefix(p.as_ref()).map(|r| r.trim_start_matches('/')).unwrap_or(full),
                None => full,
            }
            .to_string();
            if rel.split('/').any(|seg| seg.starts_with('.') || seg.starts_with('_')) {
                continue;
            }
            if let Some(g) = &self.glob {
                if !g.is_match(&rel) {
                    continue;
                }
            }
            out.push(self.info(meta, rel));
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    fn info(&self, meta: object_store::ObjectMeta, rel: String) -> ObjectInfo {
        ObjectInfo {
            display: self.display_of(&rel),
            location: meta.location,
            rel,
            size: meta.size,
            etag: meta.e_tag,
            last_modified: meta.last_modified,
        }
    }

    /// Makes the object readable as a local, uncompressed file: a local object that is not
    /// gzip-compressed is used in place; anything else is streamed into `scratch` (and gunzipped
    /// when its name ends in `.gz`). Returns the local path.
    pub async fn fetch_local(&self, obj: &ObjectInfo, scratch: &FsPath) -> Result<PathBuf, StorageError> {
        let gz = obj.rel.ends_with(".gz") || (obj.rel.is_empty() && self.display_base.ends_with(".gz"));
        let safe = sanitize(&obj.display);
        if self.scheme == Scheme::Local {
            let path = PathBuf::from("/").join(obj.location.as_ref());
            if !gz {
                return Ok(path);
            }
            let dest = scratch.join(safe.trim_end_matches(".gz"));
            gunzip(&path, &dest, &obj.display)?;
            return Ok(dest);
        }
        let raw = scratch.join(&safe);
        let result = self.store.get(&obj.location).await.map_err(store_err("reading", obj.display.clone()))?;
        let mut file = std::fs::File::create(&raw).map_err(io_err("creating", &raw))?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.try_next().await.map_err(store_err("reading", obj.display.clone()))? {
            file.write_all(&chunk).map_err(io_err("writing", &raw))?;
        }
        file.flush().map_err(io_err("writing", &raw))?;
        drop(file);
        if !gz {
            return Ok(raw);
        }
        let dest = scratch.join(safe.trim_end_matches(".gz"));
        gunzip(&raw, &dest, &obj.display)?;
        let _ = std::fs::remove_file(&raw);
        Ok(dest)
    }

    /// Reads the object at `rel`, or `None` when it does not exist.
    pub async fn read_bytes(&self, rel: &str) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&self.key(rel)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(store_err("reading", self.display_of(rel)))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading", self.display_of(rel))(e)),
        }
    }

    /// Writes `bytes` to `rel` (replacing any object there).
    pub async fn write_bytes(&self, rel: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&self.key(rel), PutPayload::from_bytes(bytes))
            .await
            .map_err(store_err("writing", self.display_of(rel)))?;
        Ok(())
    }

    /// Uploads a local file to `rel`, streaming it in parts when it is large.
    pub async fn upload_file(&self, rel: &str, local: &FsPath) -> Result<(), StorageError> {
        const PART: usize = 8 * 1024 * 1024;
        let len = std::fs::metadata(local).map_err(io_err("reading", local))?.len();
        if len <= PART as u64 {
            let data = std::fs::read(local).map_err(io_err("reading", local))?;
            return self.write_bytes(rel, Bytes::from(data)).await;
        }
        let key = self.key(rel);
        let upload = self.store.put_multipart(&key).await.map_err(store_err("writing", self.display_of(rel)))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut file = std::fs::File::open(local).map_err(io_err("reading", local))?;
        let mut buf = vec![0u8; PART];
        loop {
            let n = file.read(&mut buf).map_err(io_err("reading", local))?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(store_err("writing", self.display_of(rel)))?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(store_err("writing", self.display_of(rel)))?;
        Ok(())
    }

    /// Publishes a finished local file at `rel`, consuming it. On local storage the file is
    /// renamed into place (atomic: readers see the old file or the new one, never a part), after
    /// a copy beside the destination when the two are on different file systems; elsewhere it is
    /// uploaded as by [`Location::upload_file`]. Saves writing large outputs twice.
    pub async fn publish_file(&self, rel: &str, local: &FsPath) -> Result<(), StorageError> {
        if self.scheme != Scheme::Local {
            return self.upload_file(rel, local).await;
        }
        let dest = PathBuf::from("/").join(self.key(rel).as_ref());
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        if std::fs::rename(local, &dest).is_ok() {
            return Ok(());
        }
        // Another file system (or a rename refused for another reason): copy beside the
        // destination, then rename there, so the destination still changes in one step.
        let mut aside = dest.clone().into_os_string();
        aside.push(format!(".tally-{}.tmp", std::process::id()));
        let aside = PathBuf::from(aside);
        let copied = std::fs::copy(local, &aside).map_err(io_err("writing", &aside));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&aside);
            return Err(e);
        }
        if let Err(source) = std::fs::rename(&aside, &dest) {
            let _ = std::fs::remove_file(&aside);
            return Err(StorageError::Io { action: "writing", path: dest.display().to_string(), source });
        }
        let _ = std::fs::remove_file(local);
        Ok(())
    }

    /// Deletes the object at `rel`; a missing object is not an error.
    pub async fn delete(&self, rel: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.key(rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err("deleting", self.display_of(rel))(e)),
        }
    }

    /// Keys (relative to this location) of every object under `rel`, sorted.
    pub async fn list_rel(&self, rel: &str) -> Result<Vec<String>, StorageError> {
        let child = self.child(rel);
        Ok(child
            .list_objects()
            .await?
            .into_iter()
            .map(|o| if rel.is_empty() { o.rel } else { format!("{rel}/{}", o.rel) })
            .collect())
    }
}

fn compile_glob(glob: Option<&str>, url: &str) -> Result<Option<GlobMatcher>, StorageError> {
    glob.map(|g| {
        GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher())
            .map_err(|e| StorageError::InvalidUrl { url: url.to_string(), reason: e.to_string() })
    })
    .transpose()
}

fn normalize(p: &FsPath) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in p.components() {
        match comp {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

fn gunzip(src: &FsPath, dest: &FsPath, display: &str) -> Result<(), StorageError> {
    let input = std::fs::File::open(src).map_err(io_err("reading", src))?;
    let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(input));
    let mut out = std::io::BufWriter::new(std::fs::File::create(dest).map_err(io_err("creating", dest))?);
    std::io::copy(&mut decoder, &mut out)
        .map_err(|e| StorageError::BadGzip { object: display.to_string(), reason: e.to_string() })?;
    out.flush().map_err(io_err("writing", dest))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_split_at_the_first_wildcard_segment() {
        assert_eq!(split_glob("a/b/*/c.csv"), ("a/b".into(), Some("*/c.csv".into())));
        assert_eq!(split_glob("a/b"), ("a/b".into(), None));
        assert_eq!(split_glob("*.csv"), ("".into(), Some("*.csv".into())));
    }

    #[test]
    fn bad_scheme_is_named() {
        let err = Location::open("ftp://host/x").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unsupported URL scheme `ftp`"), "{err}");
    }

    #[tokio::test]
    async fn publishing_a_local_file_moves_it_into_place_and_replaces_the_old_one() -> Result<(), StorageError> {
        let dir = tempfile::tempdir().map_err(io_err("creating", FsPath::new("tmp")))?;
        let out = Location::open(&dir.path().join("out").to_string_lossy())?;
        for (i, body) in ["first", "second"].iter().enumerate() {
            let staged = dir.path().join(format!("staged-{i}"));
            std::fs::write(&staged, body).map_err(io_err("writing", &staged))?;
            out.publish_file("ledger/billing_month=2026-10/part-0.parquet", &staged).await?;
            assert!(!staged.exists(), "the staged file is consumed");
        }
        let published = dir.path().join("out/ledger/billing_month=2026-10/part-0.parquet");
        assert_eq!(std::fs::read_to_string(&published).ok().as_deref(), Some("second"));
        let names: Vec<_> = std::fs::read_dir(published.parent().unwrap_or(dir.path()))
            .map_err(io_err("listing", dir.path()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["part-0.parquet"], "nothing left beside it");

        let mem = Location::open("memory://unit-test/publish")?;
        let staged = dir.path().join("staged-mem");
        std::fs::write(&staged, "m").map_err(io_err("writing", &staged))?;
        mem.publish_file("x.parquet", &staged).await?;
        assert_eq!(mem.read_bytes("x.parquet").await?, Some(Bytes::from_static(b"m")));
        Ok(())
    }

    #[tokio::test]
    async fn memory_store_round_trip_and_listing() -> Result<(), StorageError> {
        let loc = Location::open("memory://unit-test/root")?;
        loc.write_bytes("a/1.csv", Bytes::from_static(b"x")).await?;
        loc.write_bytes("a/_hidden", Bytes::from_static(b"x")).await?;
        loc.write_bytes("b/2.csv", Bytes::from_static(b"yy")).await?;
        let all = loc.list_objects().await?;
        let rels: Vec<_> = all.iter().map(|o| o.rel.as_str()).collect();
        assert_eq!(rels, ["a/1.csv", "b/2.csv"]);
        assert_eq!(all[1].display, "memory://unit-test/root/b/2.csv");
        assert_eq!(all[1].size, 2);
        let globbed = Location::open("memory://unit-test/root/*/2.csv")?.list_objects().await?;
        assert_eq!(globbed.len(), 1);
        assert_eq!(loc.read_bytes("a/1.csv").await?, Some(Bytes::from_static(b"x")));
        assert_eq!(loc.read_bytes("nope").await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn truncated_gzip_is_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&b"BilledCost\n1.0\n".repeat(1000))?;
        let gz = enc.finish()?;
        let path = dir.path().join("x.csv.gz");
        std::fs::write(&path, &gz[..gz.len() / 2])?;
        let loc = Location::open(path.to_str().unwrap_or_default())?;
        let objs = loc.list_objects().await?;
        assert_eq!(objs.len(), 1);
        let err = loc.fetch_local(&objs[0], dir.path()).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("x.csv.gz` is not a valid gzip stream"), "{err}");
        Ok(())
    }
}
