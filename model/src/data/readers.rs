//! Readers for raw interaction logs: MovieLens atomic `.inter` files (RecBole format), the
//! Complete Journey Parquet tables, and a store's own log (CSV/TSV or Parquet with columns
//! user, item, timestamp and optional kind, category, price, basket), given as one file or as
//! a folder of part files the way Spark, DuckDB or Polars write them.
//!
//! Memory: a log is read row by row (CSV records; one Parquet row group at a time, only the
//! columns it uses) into a [`RawLog`] that stores each user and item id once and one 32-byte
//! record per usable row, so a log costs ~32 bytes per event plus its users and catalogue,
//! not its raw text.
//!
//! Rows that cannot be used are never dropped silently: each is counted, and the first
//! [`MAX_MALFORMED_KEPT`] are recorded in [`RawLog::malformed`] with their line number (CSV:
//! 1-based file line, the header is line 1; Parquet: 1-based row number), the part file they
//! came from, and the reason.
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type as SchemaType;

use super::event_kind::{parse_log_kind, EventKind};
use super::timestamp::parse_timestamp;
use crate::error::{io_err, ModelError, Result};

/// How many malformed rows a log keeps in detail; the rest are only counted, so a log where
/// every row is bad cannot exhaust memory.
pub const MAX_MALFORMED_KEPT: usize = 1000;

/// Distinct strings numbered in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    index: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.index.insert(s.into(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A basket (order, transaction) id, kept as a 64-bit hash of its text: baskets are only ever
/// compared for equality within one user, where a collision among a few thousand ids has a
/// probability near 10⁻¹³, and a hash costs 8 bytes where the text would cost a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BasketKey(NonZeroU64);

impl BasketKey {
    pub fn of(id: &str) -> BasketKey {
        // DefaultHasher::new() has fixed keys: the same id gives the same key in every run.
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        BasketKey(NonZeroU64::new(h.finish()).unwrap_or(NonZeroU64::MIN))
    }
}

/// One usable row of a log. `user` and `item` index [`RawLog::users`] and [`RawLog::items`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawEvent {
    pub timestamp: i64,
    /// The basket the event belongs to. None when the log has no basket column or the cell is
    /// empty (next-basket preparation then groups by session gap, see `prepare::SESSION_GAP_SECS`).
    pub basket: Option<BasketKey>,
    pub user: u32,
    pub item: u32,
    /// The unit price, NaN when the row has none (an Option would make the record 8 bytes larger).
    price: f32,
    pub kind: EventKind,
}

impl RawEvent {
    pub fn price(&self) -> Option<f32> {
        (!self.price.is_nan()).then_some(self.price)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// The part file the row is in, when the log is a folder of parts.
    pub part: Option<String>,
    /// CSV: the file line (header = 1). Parquet: the row number, from 1.
    pub line: usize,
    pub reason: String,
}

/// A whole raw log, compactly: ids interned, one [`RawEvent`] per usable row in input order
/// (the order is the tie-break for events with the same timestamp).
#[derive(Debug, Default, Clone)]
pub struct RawLog {
    pub users: Interner,
    pub items: Interner,
    pub events: Vec<RawEvent>,
    /// Per item (indexed like `items`): the first category the log gives it.
    pub item_category: Vec<Option<String>>,
    /// The first [`MAX_MALFORMED_KEPT`] unusable rows.
    pub malformed: Vec<Malformed>,
    /// Every unusable row, kept or not.
    pub malformed_rows: usize,
    pub rows_read: usize,
    /// What reading did besides rows: part files read or skipped.
    pub notes: Vec<String>,
}

/// One row's fields, borrowed from the reader's buffer.
pub struct RowFields<'a> {
    pub user: &'a str,
    pub item: &'a str,
    pub timestamp: i64,
    pub kind: EventKind,
    pub category: Option<&'a str>,
    pub price: Option<f32>,
    pub basket: Option<&'a str>,
}

impl RawLog {
    /// Adds one usable row.
    pub fn push(&mut self, row: RowFields<'_>) {
        let user = self.users.intern(row.user.trim());
        let item = self.items.intern(row.item.trim());
        if item as usize == self.item_category.len() {
            self.item_category.push(None);
        }
        if let (None, Some(c)) = (&self.item_category[item as usize], row.category) {
            self.item_category[item as usize] = Some(c.to_string());
        }
        let basket = row.basket.map(|b| BasketKey::of(b.trim()));
        self.events.push(RawEvent { timestamp: row.timestamp, basket, user, item, price: row.price.unwrap_or(f32::NAN), kind: row.kind });
    }

    /// Records one unusable row.
    pub fn reject(&mut self, part: Option<&str>, line: usize, reason: String) {
        self.malformed_rows += 1;
        if self.malformed.len() < MAX_MALFORMED_KEPT {
            self.malformed.push(Malformed { part: part.map(str::to_string), line, reason });
        }
    }

    pub fn user_name(&self, e: &RawEvent) -> &str {
        self.users.name(e.user)
    }

    pub fn item_name(&self, e: &RawEvent) -> &str {
        self.items.name(e.item)
    }

    /// A short human-readable summary: counts plus the first few malformed rows.
    pub fn malformed_summary(&self, max_lines: usize) -> String {
        let mut s = format!("{} rows read, {} usable, {} malformed", self.rows_read, self.events.len(), self.malformed_rows);
        for m in self.malformed.iter().take(max_lines) {
            match &m.part {
                // A delimited part counts file lines (header = 1), a Parquet part rows.
                Some(p) if matches!(format_of(Path::new(p)), Some(LogFormat::Delimited(_))) => s.push_str(&format!("\n  {p} line {}: {}", m.line, m.reason)),
                Some(p) => s.push_str(&format!("\n  {p} row {}: {}", m.line, m.reason)),
                None => s.push_str(&format!("\n  line {}: {}", m.line, m.reason)),
            }
        }
        if self.malformed_rows > max_lines {
            s.push_str(&format!("\n  … and {} more", self.malformed_rows - max_lines));
        }
        s
    }
}

/// What a column of a log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    User,
    Item,
    Timestamp,
    Kind,
    Category,
    Price,
    Basket,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Item => "item",
            Role::Timestamp => "timestamp",
            Role::Kind => "kind",
            Role::Category => "category",
            Role::Price => "price",
            Role::Basket => "basket",
        }
    }

    /// The role of a column name, matched case-insensitively with any RecBole type suffix
    /// (`:token`, `:float`) removed, against a few common aliases.
    fn of_column(name: &str) -> Option<Role> {
        let n = name.split(':').next().unwrap_or(name).trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "user" | "user_id" | "userid" | "visitorid" | "customer_id" | "household_id" => Role::User,
            "item" | "item_id" | "itemid" | "product_id" | "sku" => Role::Item,
            "timestamp" | "time" | "ts" | "event_time" | "datetime" => Role::Timestamp,
            "kind" | "event" | "event_type" | "type" => Role::Kind,
            "category" | "category_id" | "categoryid" => Role::Category,
            "price" => Role::Price,
            "basket" | "basket_id" | "order" | "order_id" | "transaction_id" => Role::Basket,
            _ => return None,
        })
    }
}

/// Which column (by position in the file) holds each role; the first matching column wins.
#[derive(Debug, Default, Clone)]
struct ColumnMap {
    columns: Vec<(Role, usize)>,
}

impl ColumnMap {
    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> ColumnMap {
        let mut map = ColumnMap::default();
        for (i, name) in names.enumerate() {
            if let Some(role) = Role::of_column(name) {
                if map.get(role).is_none() {
                    map.columns.push((role, i));
                }
            }
        }
        map.columns.sort();
        map
    }

    fn get(&self, role: Role) -> Option<usize> {
        self.columns.iter().find(|(r, _)| *r == role).map(|&(_, i)| i)
    }

    fn require(&self, path: &Path) -> Result<()> {
        for role in [Role::User, Role::Item, Role::Timestamp] {
            if self.get(role).is_none() {
                return Err(ModelError::MissingColumn { path: path.to_path_buf(), column: role.as_str().to_string() });
            }
        }
        Ok(())
    }
}

/// Turns one row's cells into an event's fields, or the reason it is unusable. `cell(i)` is
/// the text of column i (None: null or absent).
fn row_fields<'a>(cell: impl Fn(usize) -> Option<&'a str>, map: &ColumnMap, default_kind: EventKind) -> Result<RowFields<'a>, String> {
    let get = |role: Role| map.get(role).and_then(&cell).filter(|s| !s.trim().is_empty());
    let user = get(Role::User).ok_or("empty user")?;
    let item = get(Role::Item).ok_or("empty item")?;
    let ts_raw = get(Role::Timestamp).ok_or("empty timestamp")?;
    let timestamp = parse_timestamp(ts_raw).ok_or_else(|| format!("unparseable timestamp {ts_raw:?}"))?;
    let kind = match get(Role::Kind) {
        Some(k) => parse_log_kind(k).ok_or_else(|| format!("unknown event kind {k:?} (expected one of {}, or a common synonym)", EventKind::names()))?,
        None => default_kind,
    };
    let price = match get(Role::Price) {
        Some(p) => Some(p.trim().parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("unparseable price {p:?}"))?),
        None => None,
    };
    Ok(RowFields { user, item, timestamp, kind, category: get(Role::Category), price, basket: get(Role::Basket) })
}

/// Reads a delimited text log with a header row. `.inter` (RecBole) files are tab separated.
pub fn read_delimited(path: &Path, delimiter: u8, default_kind: EventKind) -> Result<RawLog> {
    let mut log = RawLog::default();
    read_delimited_into(File::open(path).map_err(io_err(path))?, path, None, delimiter, default_kind, &mut log)?;
    Ok(log)
}

pub fn read_delimited_from(reader: impl std::io::Read, path: &Path, delimiter: u8, default_kind: EventKind) -> Result<RawLog> {
    let mut log = RawLog::default();
    read_delimited_into(reader, path, None, delimiter, default_kind, &mut log)?;
    Ok(log)
}

/// Streams a delimited log into `log`, one record at a time; returns the columns it mapped.
fn read_delimited_into(reader: impl std::io::Read, path: &Path, part: Option<&str>, delimiter: u8, default_kind: EventKind, log: &mut RawLog) -> Result<ColumnMap> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| ModelError::Csv { path: path.to_path_buf(), message: e.to_string() })?.clone();
    let map = ColumnMap::from_names(headers.iter());
    map.require(path)?;
    let width = headers.len();
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    loop {
        line += 1; // the fallback when the record has no position: header = 1, rows follow
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                log.rows_read += 1;
                log.reject(part, line, format!("unreadable row: {e}"));
                continue;
            }
        }
        log.rows_read += 1;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(line);
        if rec.len() != width {
            log.reject(part, line, format!("expected {width} fields, found {}", rec.len()));
            continue;
        }
        match row_fields(|i| rec.get(i), &map, default_kind) {
            Ok(row) => log.push(row),
            Err(reason) => log.reject(part, line, reason),
        }
    }
    Ok(map)
}

/// Renders a Parquet cell as text, converting timestamps to epoch seconds.
fn field_text(f: &Field) -> Option<String> {
    Some(match f {
        Field::Null => return None,
        Field::Bool(b) => b.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float16(v) => f32::from(*v).to_string(),
        Field::Float(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        Field::Date(days) => (i64::from(*days) * 86_400).to_string(),
        Field::TimestampMillis(ms) => ms.div_euclid(1000).to_string(),
        Field::TimestampMicros(us) => us.div_euclid(1_000_000).to_string(),
        other => other.to_string(),
    })
}

fn parquet_err(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> ModelError + '_ {
    move |e| ModelError::Parquet { path: path.to_path_buf(), message: e.to_string() }
}

/// An open Parquet file and its top-level columns.
pub(crate) struct ParquetFile {
    reader: SerializedFileReader<File>,
    root: String,
    fields: Vec<std::sync::Arc<SchemaType>>,
}

impl ParquetFile {
    pub(crate) fn open(path: &Path) -> Result<ParquetFile> {
        let file = File::open(path).map_err(io_err(path))?;
        let reader = SerializedFileReader::new(file).map_err(parquet_err(path))?;
        let root = reader.metadata().file_metadata().schema_descr().root_schema();
        let (name, fields) = (root.name().to_string(), root.get_fields().to_vec());
        Ok(ParquetFile { reader, root: name, fields })
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name())
    }

    fn rows(&self) -> i64 {
        self.reader.metadata().file_metadata().num_rows()
    }

    /// A column's type as the schema states it, for comparing part files.
    fn type_of(&self, column: usize) -> String {
        let f = &self.fields[column];
        if f.is_primitive() {
            let info = f.get_basic_info();
            format!("{}{}", f.get_physical_type(), info.logical_type_ref().map(|l| format!(" ({l:?})")).unwrap_or_default())
        } else {
            "group".to_string()
        }
    }

    /// Calls `each(row_number, cells)` for every row, reading only `columns` (cells are in
    /// that order). Rows are decoded one row group at a time. An unreadable row is an error:
    /// reading on past it would silently drop the rest of the file.
    pub(crate) fn for_each_row(&self, path: &Path, columns: &[usize], each: impl FnMut(usize, &[Option<String>])) -> Result<()> {
        // The parquet crate's row reader panics (`unimplemented!`) on a few column types it
        // cannot convert; a store's file must get an error naming it, not a crash.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read_rows(path, columns, each))).unwrap_or_else(|panic| {
            let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            let columns: Vec<String> = columns.iter().map(|&c| format!("`{}` {}", self.fields[c].name(), self.type_of(c))).collect();
            Err(ModelError::Parquet { path: path.to_path_buf(), message: format!("cannot convert a value of the columns {} ({message}); write them as strings, integers, floats or timestamps", columns.join(", ")) })
        })
    }

    fn read_rows(&self, path: &Path, columns: &[usize], mut each: impl FnMut(usize, &[Option<String>])) -> Result<()> {
        let projected: Vec<_> = columns.iter().map(|&c| self.fields[c].clone()).collect();
        let projection = SchemaType::group_type_builder(&self.root).with_fields(projected).build().map_err(parquet_err(path))?;
        let position: HashMap<&str, usize> = columns.iter().enumerate().map(|(pos, &c)| (self.fields[c].name(), pos)).collect();
        let mut cells: Vec<Option<String>> = vec![None; columns.len()];
        for (i, row) in self.reader.get_row_iter(Some(projection)).map_err(parquet_err(path))?.enumerate() {
            let row = row.map_err(|e| ModelError::Parquet { path: path.to_path_buf(), message: format!("row {}: {e}", i + 1) })?;
            cells.iter_mut().for_each(|c| *c = None);
            for (name, field) in row.get_column_iter() {
                if let Some(&pos) = position.get(name.as_str()) {
                    cells[pos] = field_text(field);
                }
            }
            each(i + 1, &cells);
        }
        Ok(())
    }
}

/// Streams a store log stored as Parquet into `log`; returns the columns it mapped (indices
/// into the file's columns).
fn read_parquet_into(file: &ParquetFile, path: &Path, part: Option<&str>, default_kind: EventKind, log: &mut RawLog) -> Result<ColumnMap> {
    let full = ColumnMap::from_names(file.names());
    full.require(path)?;
    // Read only the mapped columns; in the projected row, role k sits at position k.
    let columns: Vec<usize> = full.columns.iter().map(|&(_, c)| c).collect();
    let projected = ColumnMap { columns: full.columns.iter().enumerate().map(|(pos, &(role, _))| (role, pos)).collect() };
    file.for_each_row(path, &columns, |row, cells| {
        log.rows_read += 1;
        match row_fields(|i| cells.get(i).and_then(|c| c.as_deref()), &projected, default_kind) {
            Ok(fields) => log.push(fields),
            Err(reason) => log.reject(part, row, reason),
        }
    })?;
    Ok(full)
}

/// Reads a store log stored as Parquet (same columns as the CSV form).
pub fn read_parquet_log(path: &Path, default_kind: EventKind) -> Result<RawLog> {
    let mut log = RawLog::default();
    read_parquet_into(&ParquetFile::open(path)?, path, None, default_kind, &mut log)?;
    Ok(log)
}

/// A log file's format, by its extension.
pub(crate) enum LogFormat {
    Delimited(u8),
    Parquet,
}

pub(crate) fn format_of(path: &Path) -> Option<LogFormat> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(LogFormat::Delimited(b',')),
        "tsv" | "inter" => Some(LogFormat::Delimited(b'\t')),
        "parquet" | "pq" => Some(LogFormat::Parquet),
        _ => None,
    }
}

/// Reads any store log: a file (parser chosen by extension) or a folder of part files.
pub fn read_store_log(path: &Path, default_kind: EventKind) -> Result<RawLog> {
    if path.is_dir() {
        return read_log_folder(path, default_kind);
    }
    match format_of(path) {
        Some(LogFormat::Delimited(d)) => read_delimited(path, d, default_kind),
        Some(LogFormat::Parquet) => read_parquet_log(path, default_kind),
        None => Err(ModelError::UnsupportedFormat { path: path.to_path_buf() }),
    }
}

/// The part files of a folder, as Spark (`part-00000-….snappy.parquet`, `_SUCCESS`,
/// `.part-….crc`), DuckDB (`data_0.parquet`) or Polars write them, including Hive-style
/// sub-folders (`date=2024-01-01/…`): every `.parquet`/`.pq`/`.csv`/`.tsv` file below the
/// folder, in path order; names starting with `_` or `.` (markers, checksums) are skipped.
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut parts = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else if format_of(&p).is_some() {
                parts.push(p);
            }
        }
    }
    parts.sort();
    Ok(parts)
}

/// Reads a folder of part files as one log. Every part must map the same columns to the same
/// roles with the same types as the first part with rows (a part written by a different job
/// or schema version is an error naming both parts, not a silent mix); empty parts (no bytes
/// or no rows) are skipped and listed in [`RawLog::notes`].
fn read_log_folder(dir: &Path, default_kind: EventKind) -> Result<RawLog> {
    let parts = part_files(dir)?;
    if parts.is_empty() {
        return Err(ModelError::NoParts { dir: dir.to_path_buf() });
    }
    let mut log = RawLog::default();
    // The first part with rows: its name and its schema (role → column name and type).
    let mut reference: Option<(String, Vec<(Role, String)>)> = None;
    let mut empty = Vec::new();
    for path in &parts {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let size = std::fs::metadata(path).map_err(io_err(path))?.len();
        if size == 0 {
            empty.push(name);
            continue;
        }
        let before = log.rows_read;
        let schema: Vec<(Role, String)> = match format_of(path) {
            Some(LogFormat::Parquet) => {
                let file = ParquetFile::open(path)?;
                if file.rows() == 0 {
                    empty.push(name);
                    continue;
                }
                let map = read_parquet_into(&file, path, Some(&name), default_kind, &mut log)?;
                let names: Vec<&str> = file.names().collect();
                map.columns.iter().map(|&(role, c)| (role, format!("`{}` {}", names[c], file.type_of(c)))).collect()
            }
            Some(LogFormat::Delimited(d)) => {
                let file = File::open(path).map_err(io_err(path))?;
                let map = read_delimited_into(file, path, Some(&name), d, default_kind, &mut log)?;
                if log.rows_read == before {
                    empty.push(name);
                    continue;
                }
                map.columns.iter().map(|&(role, _)| (role, "text".to_string())).collect()
            }
            None => continue,
        };
        match &reference {
            None => reference = Some((name, schema)),
            Some((first, expected)) if *expected != schema => {
                let describe = |s: &[(Role, String)]| s.iter().map(|(r, t)| format!("{}: {t}", r.as_str())).collect::<Vec<_>>().join(", ");
                return Err(ModelError::PartSchemaMismatch { dir: dir.to_path_buf(), part: name, first: first.clone(), found: describe(&schema), expected: describe(expected) });
            }
            Some(_) => {}
        }
    }
    log.notes.push(format!("{} part files read from {}", parts.len() - empty.len(), dir.display()));
    if !empty.is_empty() {
        log.notes.push(format!("{} empty part files skipped: {}", empty.len(), empty.join(", ")));
    }
    Ok(log)
}

/// MovieLens-100k as shipped by RecBole (`user_id:token item_id:token rating:float timestamp:float`).
/// A rating is an act of watching, so every row becomes a `view`.
pub fn read_ml100k(path: &Path) -> Result<RawLog> {
    read_delimited(path, b'\t', EventKind::View)
}

/// Complete Journey: one purchase event per transaction row, in its `basket_id`. The category is the product's
/// `product_category`; the price is the unit price `sales_value / quantity` (absent when the
/// quantity is zero, e.g. for returns and coupons).
pub fn read_complete_journey(transactions: &Path, products: &Path) -> Result<RawLog> {
    let missing = |c: &str, p: &Path| ModelError::MissingColumn { path: p.to_path_buf(), column: c.to_string() };
    let pfile = ParquetFile::open(products)?;
    let pcol = |n: &str| pfile.names().position(|c| c == n);
    let p_id = pcol("product_id").ok_or_else(|| missing("product_id", products))?;
    let mut category: HashMap<String, String> = HashMap::new();
    if let Some(p_cat) = pcol("product_category") {
        pfile.for_each_row(products, &[p_id, p_cat], |_, cells| {
            if let [Some(id), Some(cat)] = cells {
                category.insert(id.clone(), cat.clone());
            }
        })?;
    }

    let tfile = ParquetFile::open(transactions)?;
    let tcol = |n: &str| tfile.names().position(|c| c == n);
    let required = ["household_id", "product_id", "transaction_timestamp"].map(|n| tcol(n).ok_or_else(|| missing(n, transactions)));
    let [c_user, c_item, c_ts] = required;
    let mut columns = vec![c_user?, c_item?, c_ts?];
    // Optional columns take the next positions when present.
    let mut optional = |n: &str| {
        tcol(n).map(|c| {
            columns.push(c);
            columns.len() - 1
        })
    };
    let (c_qty, c_sales, c_basket) = (optional("quantity"), optional("sales_value"), optional("basket_id"));
    let mut log = RawLog::default();
    tfile.for_each_row(transactions, &columns, |row, cells| {
        log.rows_read += 1;
        let text = |c: Option<usize>| c.and_then(|c| cells[c].as_deref());
        let parsed = (|| {
            let user = text(Some(0)).ok_or("empty household_id")?;
            let item = text(Some(1)).ok_or("empty product_id")?;
            let ts_raw = text(Some(2)).ok_or("empty transaction_timestamp")?;
            let timestamp = parse_timestamp(ts_raw).ok_or_else(|| format!("unparseable timestamp {ts_raw:?}"))?;
            let num = |c: Option<usize>| text(c).and_then(|s| s.parse::<f64>().ok());
            let price = match (num(c_sales), num(c_qty)) {
                (Some(s), Some(q)) if q > 0.0 => Some((s / q) as f32),
                _ => None,
            };
            let category = category.get(item).map(String::as_str);
            Ok::<_, String>(RowFields { user, item, timestamp, kind: EventKind::Purchase, category, price, basket: text(c_basket) })
        })();
        match parsed {
            Ok(fields) => log.push(fields),
            Err(reason) => log.reject(None, row, reason),
        }
    })?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_csv(text: &str) -> RawLog {
        read_delimited_from(text.as_bytes(), Path::new("inline.csv"), b',', EventKind::View).expect("header is valid")
    }

    #[test]
    fn reads_store_log_and_reports_bad_rows_by_line() {
        let log = read_csv(
            "user,item,timestamp,kind,category,price\n\
             u1,a,100,view,shoes,10.5\n\
             u1,b,notatime,click,,\n\
             u2,a,2020-01-01,cart,shoes,\n\
             u2,,300,view,,\n\
             u3,c,400,teleport,,\n\
             u3,c,400\n\
             u3,d,500,purchase,hats,abc\n",
        );
        assert_eq!(log.rows_read, 7);
        assert_eq!(log.events.len(), 2);
        let first = &log.events[0];
        assert_eq!((log.user_name(first), log.item_name(first), first.timestamp, first.kind, first.price(), first.basket), ("u1", "a", 100, EventKind::View, Some(10.5), None));
        assert_eq!(log.item_category, vec![Some("shoes".to_string())]);
        assert_eq!(log.events[1].kind, EventKind::Cart);
        assert_eq!(log.events[1].timestamp, 1_577_836_800);
        assert_eq!(log.events[1].price(), None);
        // One id, one number: both of u1's and u2's rows for "a" share item 0.
        assert_eq!((log.events[0].item, log.events[1].item, log.users.len()), (0, 0, 2));
        let lines: Vec<usize> = log.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7, 8]);
        assert!(log.malformed[0].reason.contains("timestamp"));
        assert!(log.malformed[2].reason.contains("teleport"));
        assert!(log.malformed[3].reason.contains("expected 6 fields"));
        assert!(log.malformed[4].reason.contains("price"));
        assert!(log.malformed_summary(2).contains("… and 3 more"));
    }

    #[test]
    fn a_log_of_bad_rows_keeps_a_bounded_sample_and_counts_the_rest() {
        let mut text = String::from("user,item,timestamp\n");
        for i in 0..(MAX_MALFORMED_KEPT + 500) {
            text.push_str(&format!("u{i},x,never\n"));
        }
        let log = read_csv(&text);
        assert_eq!((log.malformed.len(), log.malformed_rows, log.events.len()), (MAX_MALFORMED_KEPT, MAX_MALFORMED_KEPT + 500, 0));
        assert!(log.malformed_summary(1).contains(&format!("{} malformed", MAX_MALFORMED_KEPT + 500)));
    }

    #[test]
    fn the_event_record_stays_compact() {
        // ~32 bytes per event is what bounds preparing a 20M-event log to well under 2 GB.
        assert!(std::mem::size_of::<RawEvent>() <= 32, "{}", std::mem::size_of::<RawEvent>());
    }

    #[test]
    fn missing_column_is_an_actionable_error() {
        let err = read_delimited_from("user,timestamp\nu,1\n".as_bytes(), Path::new("x.csv"), b',', EventKind::View).unwrap_err();
        assert!(matches!(err, ModelError::MissingColumn { ref column, .. } if column == "item"), "{err}");
    }

    #[test]
    fn reads_recbole_inter_headers() {
        let text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n";
        let log = read_delimited_from(text.as_bytes(), Path::new("ml.inter"), b'\t', EventKind::View).expect("valid");
        assert_eq!(log.events.len(), 1);
        let e = &log.events[0];
        assert_eq!((log.user_name(e), log.item_name(e), e.timestamp), ("196", "242", 881_250_949));
    }

    /// Writes a Parquet file with the given string columns and an INT64 `timestamp` column.
    fn write_parquet(path: &Path, strings: &[(&str, Vec<&str>)], timestamps: &[i64], ts_type: &str) {
        use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        use std::sync::Arc;

        let fields: String = strings.iter().map(|(n, _)| format!("REQUIRED BINARY {n} (UTF8); ")).collect();
        let schema = Arc::new(parse_message_type(&format!("message log {{ {fields}REQUIRED INT64 timestamp{ts_type}; }}")).expect("schema"));
        let file = File::create(path).expect("create");
        let mut writer = SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build())).expect("writer");
        let mut rg = writer.next_row_group().expect("row group");
        for (_, values) in strings {
            let col: Vec<ByteArray> = values.iter().map(|&v| v.into()).collect();
            let mut w = rg.next_column().expect("col").expect("present");
            w.typed::<ByteArrayType>().write_batch(&col, None, None).expect("write");
            w.close().expect("close");
        }
        let mut w = rg.next_column().expect("col").expect("present");
        w.typed::<Int64Type>().write_batch(timestamps, None, None).expect("write");
        w.close().expect("close");
        rg.close().expect("close rg");
        writer.close().expect("close file");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("localrank-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn parquet_round_trip_through_store_log_reader() {
        let dir = temp_dir("pq");
        let path = dir.join("log.parquet");
        write_parquet(&path, &[("user", vec!["u1", "u2"]), ("item", vec!["a", "b"]), ("note", vec!["x", "y"])], &[10, 20], "");
        let log = read_store_log(&path, EventKind::Purchase).expect("readable");
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.item_name(&log.events[1]), "b");
        assert_eq!(log.events[1].timestamp, 20);
        assert_eq!(log.events[1].kind, EventKind::Purchase);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_of_parts_reads_as_one_log_in_path_order() {
        let dir = temp_dir("parts");
        std::fs::create_dir_all(dir.join("date=2024-01-02")).expect("hive folder");
        write_parquet(&dir.join("part-00000-x.snappy.parquet"), &[("user_id", vec!["u1", "u2"]), ("item_id", vec!["a", "b"])], &[10, 20], "");
        write_parquet(&dir.join("date=2024-01-02/part-00000.parquet"), &[("user_id", vec!["u1"]), ("item_id", vec!["c"])], &[30], "");
        // Spark's markers and checksums, an empty part, a zero-row part.
        std::fs::write(dir.join("_SUCCESS"), "").expect("marker");
        std::fs::write(dir.join(".part-00000-x.snappy.parquet.crc"), "junk").expect("crc");
        std::fs::write(dir.join("part-00001-x.snappy.parquet"), "").expect("empty part");
        write_parquet(&dir.join("part-00002-x.snappy.parquet"), &[("user_id", vec![]), ("item_id", vec![])], &[], "");
        let log = read_store_log(&dir, EventKind::View).expect("readable");
        let names: Vec<(&str, &str)> = log.events.iter().map(|e| (log.user_name(e), log.item_name(e))).collect();
        assert_eq!(names, vec![("u1", "c"), ("u1", "a"), ("u2", "b")], "path order: date=… sorts before part-…");
        assert!(log.notes.iter().any(|n| n.contains("2 empty part files skipped") && n.contains("part-00001") && n.contains("part-00002")), "{:?}", log.notes);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_of_csv_parts_reports_bad_rows_by_part_and_line() {
        let dir = temp_dir("csvparts");
        std::fs::write(dir.join("part-0.csv"), "user,item,timestamp\nu1,a,10\nu1,b,20\n").expect("part");
        std::fs::write(dir.join("part-1.csv"), "user,item,timestamp\nu2,a,30\nu2,b,later\n").expect("part");
        let log = read_store_log(&dir, EventKind::View).expect("readable");
        assert_eq!((log.events.len(), log.rows_read, log.malformed_rows), (3, 4, 1));
        assert!(log.malformed_summary(5).contains("part-1.csv line 3: unparseable timestamp"), "{}", log.malformed_summary(5));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parts_with_different_schemas_are_an_error_naming_both() {
        let dir = temp_dir("mismatch");
        write_parquet(&dir.join("part-0.parquet"), &[("user", vec!["u1"]), ("item", vec!["a"])], &[10], "");
        // Same names, but the timestamp is a TIMESTAMP(MILLIS) here and plain INT64 above.
        write_parquet(&dir.join("part-1.parquet"), &[("user", vec!["u2"]), ("item", vec!["b"])], &[20_000], " (TIMESTAMP(MILLIS,true))");
        let err = read_store_log(&dir, EventKind::View).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ModelError::PartSchemaMismatch { .. }), "{text}");
        assert!(text.contains("part-1.parquet") && text.contains("part-0.parquet") && text.contains("timestamp"), "{text}");
        // A part that lacks a required column names the part.
        write_parquet(&dir.join("part-1.parquet"), &[("user", vec!["u2"]), ("sku_name", vec!["b"])], &[20], "");
        let err = read_store_log(&dir, EventKind::View).unwrap_err();
        assert!(matches!(err, ModelError::MissingColumn { ref path, ref column } if path.ends_with("part-1.parquet") && column == "item"), "{err}");
        // A folder without parts.
        let empty = temp_dir("noparts");
        std::fs::write(empty.join("_SUCCESS"), "").expect("marker");
        assert!(matches!(read_store_log(&empty, EventKind::View), Err(ModelError::NoParts { .. })));
        // A part that is not Parquet at all.
        std::fs::write(dir.join("part-1.parquet"), "not parquet").expect("corrupt");
        assert!(matches!(read_store_log(&dir, EventKind::View), Err(ModelError::Parquet { .. })));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&empty);
    }

    #[test]
    fn a_column_type_the_row_reader_cannot_convert_is_an_error_not_a_crash() {
        use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        use std::sync::Arc;

        // An INTERVAL timestamp: valid Parquet, but the crate's row reader has no conversion
        // for it (it panics with `unimplemented!`).
        let dir = temp_dir("interval");
        let path = dir.join("log.parquet");
        let schema = Arc::new(parse_message_type("message log { REQUIRED BINARY user (UTF8); REQUIRED BINARY item (UTF8); REQUIRED FIXED_LEN_BYTE_ARRAY (12) timestamp (INTERVAL); }").expect("schema"));
        let mut writer = SerializedFileWriter::new(File::create(&path).expect("create"), schema, Arc::new(WriterProperties::builder().build())).expect("writer");
        let mut rg = writer.next_row_group().expect("row group");
        for values in [vec!["u1"], vec!["a"]] {
            let col: Vec<ByteArray> = values.iter().map(|&v| v.into()).collect();
            let mut w = rg.next_column().expect("col").expect("present");
            w.typed::<ByteArrayType>().write_batch(&col, None, None).expect("write");
            w.close().expect("close");
        }
        let mut w = rg.next_column().expect("col").expect("present");
        w.typed::<FixedLenByteArrayType>().write_batch(&[FixedLenByteArray::from(vec![0u8; 12])], None, None).expect("write");
        w.close().expect("close");
        rg.close().expect("close rg");
        writer.close().expect("close file");
        let err = read_store_log(&path, EventKind::View).unwrap_err();
        assert!(matches!(err, ModelError::Parquet { .. }) && err.to_string().contains("cannot convert") && err.to_string().contains("`timestamp`"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_basket_column_with_numbers_and_strings_is_read_as_text() {
        let log = read_csv(
            "user,item,timestamp,order_id\n\
             u1,a,100,1001\n\
             u1,b,100,A-17\n\
             u1,c,200,\n\
             u1,d,oops,1002\n\
             u1,e,300,1001\n",
        );
        let baskets: Vec<Option<BasketKey>> = log.events.iter().map(|e| e.basket).collect();
        assert_eq!(baskets, vec![Some(BasketKey::of("1001")), Some(BasketKey::of("A-17")), None, Some(BasketKey::of("1001"))]);
        assert_ne!(BasketKey::of("1001"), BasketKey::of("A-17"));
        assert_eq!(log.malformed.iter().map(|m| m.line).collect::<Vec<_>>(), vec![5]);
    }
}
