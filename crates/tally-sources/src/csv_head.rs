//! The header and first data row of a CSV file, read without Polars: enough to check columns,
//! detect a format and pick date formats before the real scan.

use std::io::Read;
use std::path::Path;

use crate::SourceError;

/// Column names and the first data row of a CSV file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvHead {
    /// Column names, in file order (a UTF-8 byte order mark is removed).
    pub columns: Vec<String>,
    /// The first data row, when there is one.
    pub first_row: Option<Vec<String>>,
}

impl CsvHead {
    /// Reads the head of a local CSV file.
    pub fn read(path: &Path, object: &str) -> Result<CsvHead, SourceError> {
        let mut file =
            std::fs::File::open(path).map_err(|source| SourceError::Io { path: path.display().to_string(), source })?;
        let mut buf = Vec::with_capacity(1 << 16);
        file.by_ref()
            .take(4 << 20)
            .read_to_end(&mut buf)
            .map_err(|source| SourceError::Io { path: path.display().to_string(), source })?;
        let text = String::from_utf8_lossy(&buf);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if text.trim().is_empty() {
            return Err(SourceError::Empty { object: object.to_string() });
        }
        let mut records = Records { rest: text };
        let columns: Vec<String> =
            records.next().unwrap_or_default().into_iter().map(|c| c.trim().to_string()).collect();
        let first_row = records.next().filter(|r| !(r.len() == 1 && r[0].is_empty()));
        Ok(CsvHead { columns, first_row })
    }

    /// The first row's value of `column`, when present and not empty.
    pub fn sample(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.first_row.as_ref()?.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }
}

struct Records<'a> {
    rest: &'a str,
}

impl Iterator for Records<'_> {
    type Item = Vec<String>;
    fn next(&mut self) -> Option<Vec<String>> {
        if self.rest.is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut in_quotes = false;
        let mut end = self.rest.len();
        while let Some((i, ch)) = chars.next() {
            if in_quotes {
                if ch == '"' {
                    if chars.peek().map(|(_, c)| *c) == Some('"') {
                        field.push('"');
                        chars.next();
                    } else {
                        in_quotes = false;
                    }
                } else {
                    field.push(ch);
                }
                continue;
            }
            match ch {
                '"' => in_quotes = true,
                ',' => fields.push(std::mem::take(&mut field)),
                '\n' => {
                    end = i + 1;
                    break;
                }
                '\r' => {}
                c => field.push(c),
            }
        }
        fields.push(field);
        self.rest = &self.rest[end.min(self.rest.len())..];
        Some(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_header_and_first_row() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "\u{feff}A,\"B,b\",C\r\n1,\"{\"\"k\"\":\"\"v\"\"}\",\n2,3,4\n")?;
        let head = CsvHead::read(&p, "a.csv")?;
        assert_eq!(head.columns, ["A", "B,b", "C"]);
        assert_eq!(head.first_row, Some(vec!["1".into(), "{\"k\":\"v\"}".into(), "".into()]));
        assert_eq!(head.sample("C"), None);
        assert_eq!(head.sample("A"), Some("1"));
        std::fs::write(&p, "")?;
        assert!(matches!(CsvHead::read(&p, "a.csv"), Err(SourceError::Empty { .. })));
        Ok(())
    }
}
