//! Readers for raw interaction logs: MovieLens atomic `.inter` files (RecBole format), the
//! Complete Journey Parquet tables, and a store's own log (CSV/TSV or Parquet with columns
//! user, item, timestamp and optional kind, category, price, basket).
//!
//! Rows that cannot be used are never dropped silently: each is recorded in
//! [`RawLog::malformed`] with its line number (CSV: 1-based file line, the header is line 1;
//! Parquet: 1-based row number) and the reason.
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::event_kind::{parse_log_kind, EventKind};
use super::timestamp::parse_timestamp;
use crate::error::{io_err, ModelError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub user: String,
    pub item: String,
    pub timestamp: i64,
    pub kind: EventKind,
    pub category: Option<String>,
    pub price: Option<f32>,
    /// The basket (order, transaction) the event belongs to, as text: a basket column may mix
    /// numbers and strings, and an id is only ever compared for equality. None when the log
    /// has no basket column or the cell is empty (next-basket preparation then groups by
    /// session gap, see `prepare::SESSION_GAP_SECS`).
    pub basket: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// CSV: the file line (header = 1). Parquet: the row number, from 1.
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Default, Clone)]
pub struct RawLog {
    pub events: Vec<RawEvent>,
    pub malformed: Vec<Malformed>,
    pub rows_read: usize,
}

impl RawLog {
    /// A short human-readable summary: counts plus the first few malformed rows.
    pub fn malformed_summary(&self, max_lines: usize) -> String {
        let mut s = format!("{} rows read, {} usable, {} malformed", self.rows_read, self.events.len(), self.malformed.len());
        for m in self.malformed.iter().take(max_lines) {
            s.push_str(&format!("\n  line {}: {}", m.line, m.reason));
        }
        if self.malformed.len() > max_lines {
            s.push_str(&format!("\n  … and {} more", self.malformed.len() - max_lines));
        }
        s
    }
}

/// Which column of a log holds which field. Names are matched case-insensitively, with any
/// RecBole type suffix (`:token`, `:float`) removed, against a few common aliases.
#[derive(Debug, Default)]
struct ColumnMap {
    user: Option<usize>,
    item: Option<usize>,
    timestamp: Option<usize>,
    kind: Option<usize>,
    category: Option<usize>,
    price: Option<usize>,
    basket: Option<usize>,
}

fn normalise_name(name: &str) -> String {
    name.split(':').next().unwrap_or(name).trim().to_ascii_lowercase()
}

impl ColumnMap {
    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> ColumnMap {
        let mut map = ColumnMap::default();
        for (i, raw) in names.enumerate() {
            let slot = match normalise_name(raw).as_str() {
                "user" | "user_id" | "userid" | "visitorid" | "customer_id" | "household_id" => &mut map.user,
                "item" | "item_id" | "itemid" | "product_id" | "sku" => &mut map.item,
                "timestamp" | "time" | "ts" | "event_time" | "datetime" => &mut map.timestamp,
                "kind" | "event" | "event_type" | "type" => &mut map.kind,
                "category" | "category_id" | "categoryid" => &mut map.category,
                "price" => &mut map.price,
                "basket" | "basket_id" | "order" | "order_id" | "transaction_id" => &mut map.basket,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(i);
            }
        }
        map
    }

    fn require(&self, path: &Path) -> Result<(usize, usize, usize)> {
        let missing = |c: &str| ModelError::MissingColumn { path: path.to_path_buf(), column: c.to_string() };
        Ok((
            self.user.ok_or_else(|| missing("user"))?,
            self.item.ok_or_else(|| missing("item"))?,
            self.timestamp.ok_or_else(|| missing("timestamp"))?,
        ))
    }
}

/// Turns one row's cells into an event, or the reason it is unusable.
fn event_from_cells(cells: &[Option<String>], map: &ColumnMap, default_kind: EventKind) -> Result<RawEvent, String> {
    let get = |i: Option<usize>| i.and_then(|i| cells.get(i).cloned().flatten()).filter(|s| !s.trim().is_empty());
    let user = get(map.user).ok_or("empty user")?;
    let item = get(map.item).ok_or("empty item")?;
    let ts_raw = get(map.timestamp).ok_or("empty timestamp")?;
    let timestamp = parse_timestamp(&ts_raw).ok_or_else(|| format!("unparseable timestamp {ts_raw:?}"))?;
    let kind = match get(map.kind) {
        Some(k) => parse_log_kind(&k).ok_or_else(|| format!("unknown event kind {k:?} (expected one of {}, or a common synonym)", EventKind::names()))?,
        None => default_kind,
    };
    let price = match get(map.price) {
        Some(p) => Some(p.trim().parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("unparseable price {p:?}"))?),
        None => None,
    };
    let basket = get(map.basket).map(|b| b.trim().to_string());
    Ok(RawEvent { user: user.trim().to_string(), item: item.trim().to_string(), timestamp, kind, category: get(map.category), price, basket })
}

/// Reads a delimited text log with a header row. `.inter` (RecBole) files are tab separated.
pub fn read_delimited(path: &Path, delimiter: u8, default_kind: EventKind) -> Result<RawLog> {
    let file = File::open(path).map_err(io_err(path))?;
    read_delimited_from(file, path, delimiter, default_kind)
}

pub fn read_delimited_from(reader: impl std::io::Read, path: &Path, delimiter: u8, default_kind: EventKind) -> Result<RawLog> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| ModelError::Csv { path: path.to_path_buf(), message: e.to_string() })?.clone();
    let map = ColumnMap::from_names(headers.iter());
    map.require(path)?;
    let width = headers.len();
    let mut log = RawLog::default();
    for (i, rec) in rdr.records().enumerate() {
        log.rows_read += 1;
        let line = i + 2; // 1-based, after the header line
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                log.malformed.push(Malformed { line, reason: format!("unreadable row: {e}") });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(line);
        if rec.len() != width {
            log.malformed.push(Malformed { line, reason: format!("expected {width} fields, found {}", rec.len()) });
            continue;
        }
        let cells: Vec<Option<String>> = rec.iter().map(|s| Some(s.to_string())).collect();
        match event_from_cells(&cells, &map, default_kind) {
            Ok(ev) => log.events.push(ev),
            Err(reason) => log.malformed.push(Malformed { line, reason }),
        }
    }
    Ok(log)
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

/// A row's text cells (None = null), or why the row could not be read.
type CellRow = Result<Vec<Option<String>>, String>;

/// Reads every row of a Parquet file as text cells, with the column names.
fn read_parquet_rows(path: &Path) -> Result<(Vec<String>, Vec<CellRow>)> {
    let file = File::open(path).map_err(io_err(path))?;
    let reader = SerializedFileReader::new(file).map_err(parquet_err(path))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema.root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
    let index: HashMap<String, usize> = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    let mut rows = Vec::new();
    for row in reader.get_row_iter(None).map_err(parquet_err(path))? {
        match row {
            Ok(row) => {
                let mut cells = vec![None; names.len()];
                for (name, field) in row.get_column_iter() {
                    if let Some(&i) = index.get(name) {
                        cells[i] = field_text(field);
                    }
                }
                rows.push(Ok(cells));
            }
            Err(e) => rows.push(Err(format!("unreadable row: {e}"))),
        }
    }
    Ok((names, rows))
}

/// Reads a store log stored as Parquet (same columns as the CSV form).
pub fn read_parquet_log(path: &Path, default_kind: EventKind) -> Result<RawLog> {
    let (names, rows) = read_parquet_rows(path)?;
    let map = ColumnMap::from_names(names.iter().map(String::as_str));
    map.require(path)?;
    let mut log = RawLog::default();
    for (i, row) in rows.into_iter().enumerate() {
        log.rows_read += 1;
        let result = row.and_then(|cells| event_from_cells(&cells, &map, default_kind));
        match result {
            Ok(ev) => log.events.push(ev),
            Err(reason) => log.malformed.push(Malformed { line: i + 1, reason }),
        }
    }
    Ok(log)
}

/// Reads any store log, choosing the parser by file extension.
pub fn read_store_log(path: &Path, default_kind: EventKind) -> Result<RawLog> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" => read_delimited(path, b',', default_kind),
        "tsv" | "inter" => read_delimited(path, b'\t', default_kind),
        "parquet" | "pq" => read_parquet_log(path, default_kind),
        _ => Err(ModelError::UnsupportedFormat { path: path.to_path_buf() }),
    }
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
    let (pnames, prows) = read_parquet_rows(products)?;
    let pcol = |n: &str| pnames.iter().position(|c| c == n);
    let missing = |c: &str, p: &Path| ModelError::MissingColumn { path: p.to_path_buf(), column: c.to_string() };
    let p_id = pcol("product_id").ok_or_else(|| missing("product_id", products))?;
    let p_cat = pcol("product_category");
    let mut category: HashMap<String, String> = HashMap::new();
    for cells in prows.into_iter().flatten() {
        if let (Some(id), Some(cat)) = (cells[p_id].clone(), p_cat.and_then(|c| cells[c].clone())) {
            category.insert(id, cat);
        }
    }

    let (tnames, trows) = read_parquet_rows(transactions)?;
    let tcol = |n: &str| tnames.iter().position(|c| c == n).ok_or_else(|| missing(n, transactions));
    let (c_user, c_item, c_ts) = (tcol("household_id")?, tcol("product_id")?, tcol("transaction_timestamp")?);
    let (c_qty, c_sales, c_basket) = (tcol("quantity").ok(), tcol("sales_value").ok(), tcol("basket_id").ok());
    let mut log = RawLog::default();
    for (i, row) in trows.into_iter().enumerate() {
        log.rows_read += 1;
        let parsed = row.and_then(|cells| {
            let user = cells[c_user].clone().ok_or("empty household_id")?;
            let item = cells[c_item].clone().ok_or("empty product_id")?;
            let ts_raw = cells[c_ts].clone().ok_or("empty transaction_timestamp")?;
            let timestamp = parse_timestamp(&ts_raw).ok_or_else(|| format!("unparseable timestamp {ts_raw:?}"))?;
            let num = |c: Option<usize>| c.and_then(|c| cells[c].as_deref().and_then(|s| s.parse::<f64>().ok()));
            let price = match (num(c_sales), num(c_qty)) {
                (Some(s), Some(q)) if q > 0.0 => Some((s / q) as f32),
                _ => None,
            };
            let basket = c_basket.and_then(|c| cells[c].clone());
            Ok::<_, String>(RawEvent { category: category.get(&item).cloned(), user, item, timestamp, kind: EventKind::Purchase, price, basket })
        });
        match parsed {
            Ok(ev) => log.events.push(ev),
            Err(reason) => log.malformed.push(Malformed { line: i + 1, reason }),
        }
    }
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
        assert_eq!(log.events[0], RawEvent { user: "u1".into(), item: "a".into(), timestamp: 100, kind: EventKind::View, category: Some("shoes".into()), price: Some(10.5), basket: None });
        assert_eq!(log.events[1].kind, EventKind::Cart);
        assert_eq!(log.events[1].timestamp, 1_577_836_800);
        let lines: Vec<usize> = log.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7, 8]);
        assert!(log.malformed[0].reason.contains("timestamp"));
        assert!(log.malformed[2].reason.contains("teleport"));
        assert!(log.malformed[3].reason.contains("expected 6 fields"));
        assert!(log.malformed[4].reason.contains("price"));
        assert!(log.malformed_summary(2).contains("… and 3 more"));
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
        assert_eq!((log.events[0].user.as_str(), log.events[0].item.as_str(), log.events[0].timestamp), ("196", "242", 881_250_949));
    }

    #[test]
    fn parquet_round_trip_through_store_log_reader() {
        use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        use std::sync::Arc;

        let dir = std::env::temp_dir().join(format!("localrank-pq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("log.parquet");
        let schema = Arc::new(parse_message_type("message log { REQUIRED BINARY user (UTF8); REQUIRED BINARY item (UTF8); REQUIRED INT64 timestamp; }").expect("schema"));
        let file = File::create(&path).expect("create");
        let mut writer = SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build())).expect("writer");
        let mut rg = writer.next_row_group().expect("row group");
        let users: Vec<ByteArray> = vec!["u1".into(), "u2".into()];
        let items: Vec<ByteArray> = vec!["a".into(), "b".into()];
        for col in [users, items] {
            let mut w = rg.next_column().expect("col").expect("present");
            w.typed::<ByteArrayType>().write_batch(&col, None, None).expect("write");
            w.close().expect("close");
        }
        let mut w = rg.next_column().expect("col").expect("present");
        w.typed::<Int64Type>().write_batch(&[10, 20], None, None).expect("write");
        w.close().expect("close");
        rg.close().expect("close rg");
        writer.close().expect("close file");

        let log = read_store_log(&path, EventKind::Purchase).expect("readable");
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.events[1].item, "b");
        assert_eq!(log.events[1].timestamp, 20);
        assert_eq!(log.events[1].kind, EventKind::Purchase);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_basket_column_with_numbers_and_strings_is_read_as_text() {
        let log = read_csv(
            "user,item,timestamp,order_id\n\
             u1,a,100,1001\n\
             u1,b,100,A-17\n\
             u1,c,200,\n\
             u1,d,oops,1002\n",
        );
        let baskets: Vec<Option<&str>> = log.events.iter().map(|e| e.basket.as_deref()).collect();
        assert_eq!(baskets, vec![Some("1001"), Some("A-17"), None]);
        assert_eq!(log.malformed.iter().map(|m| m.line).collect::<Vec<_>>(), vec![5]);
    }
}
