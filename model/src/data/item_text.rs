//! Product text for the text tower (issue 11): a catalogue file's titles, categories, brands
//! and descriptions, read into one [`ItemText`] per product.
//!
//! One reader serves every source, by column name (case-insensitive, RecBole's `:token`
//! suffixes ignored): MovieLens-100k's `ml-100k.item` (title, release year, genres), Complete
//! Journey's `products.parquet` (department, product category and type, brand, package size)
//! and a store's own `--items FILE` (CSV/TSV/Parquet). Every column that names a category
//! (`department`, `product_category`, `genres`, …) adds its words to the category; every
//! attribute column (`description`, `package_size`, `year`, …) adds to the details. Rows that
//! cannot be used are reported by line, as the event log's are; a product given twice keeps
//! its first row.
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use localrank_core::text::truncate_text;
use serde::{Deserialize, Serialize};

use super::readers::{format_of, LogFormat, Malformed, ParquetFile, MAX_MALFORMED_KEPT};
use crate::error::{io_err, ModelError, Result};

/// What a catalogue says about one product, as words. Every part is optional; a product with
/// none is not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Category words, broad to narrow (`PRODUCE FRUIT APPLES`, `Animation Comedy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Description and other attributes (size, year, colour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl ItemText {
    /// The text the tower reads: title, category, brand and details, space-separated, cut to
    /// `localrank_core::text::MAX_TEXT_BYTES` as the engine would accept it.
    pub fn joined(&self) -> String {
        let parts = [&self.title, &self.category, &self.brand, &self.details];
        let all = parts.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>().join(" ");
        truncate_text(&all).to_string()
    }

    /// The words a shopper would search for it by without knowing its name: its category
    /// (issue 11's "search steers" query is these, never the title).
    pub fn category_words(&self) -> Option<&str> {
        self.category.as_deref()
    }

    fn is_empty(&self) -> bool {
        self.title.is_none() && self.category.is_none() && self.brand.is_none() && self.details.is_none()
    }
}

/// A catalogue file's texts in file order, with the rows it could not use.
#[derive(Debug, Default, Clone)]
pub struct ItemTexts {
    items: Vec<(String, ItemText)>,
    index: HashMap<String, usize>,
    /// The first [`MAX_MALFORMED_KEPT`] unusable rows, by line (CSV: file line, header = 1;
    /// Parquet: row number from 1).
    pub malformed: Vec<Malformed>,
    pub malformed_rows: usize,
    pub rows_read: usize,
    /// Which columns were read as what, for the prepare log.
    pub columns: String,
}

impl ItemTexts {
    pub fn get(&self, item: &str) -> Option<&ItemText> {
        self.index.get(item).map(|&i| &self.items[i].1)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every product with text, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ItemText)> {
        self.items.iter().map(|(id, t)| (id.as_str(), t))
    }

    fn reject(&mut self, line: usize, reason: String) {
        self.malformed_rows += 1;
        if self.malformed.len() < MAX_MALFORMED_KEPT {
            self.malformed.push(Malformed { part: None, line, reason });
        }
    }

    /// One line for the prepare log: how much was read and the first few rejected rows.
    pub fn summary(&self, path: &Path, max_lines: usize) -> String {
        let mut s = format!("{}: text for {} products from {} rows ({})", path.display(), self.items.len(), self.rows_read, self.columns);
        if self.malformed_rows > 0 {
            s.push_str(&format!("; {} rows not used", self.malformed_rows));
            for m in self.malformed.iter().take(max_lines) {
                s.push_str(&format!("\n  line {}: {}", m.line, m.reason));
            }
        }
        s
    }

    fn push_row(&mut self, line: usize, cells: &dyn Fn(usize) -> Option<String>, map: &TextColumns) {
        self.rows_read += 1;
        let Some(item) = cells(map.item).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
            return self.reject(line, "empty item".into());
        };
        let join = |cols: &[usize]| {
            let words: Vec<String> = cols.iter().filter_map(|&c| cells(c)).map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty()).collect();
            (!words.is_empty()).then(|| words.join(" "))
        };
        let text = ItemText { title: join(&map.title), category: join(&map.category), brand: join(&map.brand), details: join(&map.details) };
        if text.is_empty() {
            return self.reject(line, format!("no text for item {item:?} (every text column is empty)"));
        }
        if self.index.contains_key(&item) {
            return self.reject(line, format!("item {item:?} given again; its first row is kept"));
        }
        self.index.insert(item.clone(), self.items.len());
        self.items.push((item, text));
    }
}

/// What a catalogue column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextRole {
    Item,
    Title,
    Category,
    Brand,
    Details,
}

fn role_of(name: &str) -> Option<TextRole> {
    let n = name.split(':').next().unwrap_or(name).trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "item" | "item_id" | "itemid" | "product_id" | "productid" | "sku" | "id" | "asin" => TextRole::Item,
        "title" | "name" | "product_name" | "product_title" | "movie_title" => TextRole::Title,
        "category" | "categories" | "category_name" | "genre" | "genres" | "class" | "department" | "product_category" | "product_type" | "subcategory" | "sub_category" | "commodity_desc" | "sub_commodity_desc" => TextRole::Category,
        "brand" | "brand_name" | "manufacturer" | "vendor" => TextRole::Brand,
        "description" | "desc" | "product_description" | "details" | "summary" | "package_size" | "size" | "year" | "release_year" | "color" | "colour" | "material" => TextRole::Details,
        _ => return None,
    })
}

/// Columns by role (positions in the file); every matching column counts, except the item id
/// (the first wins).
#[derive(Debug, Default)]
struct TextColumns {
    item: usize,
    title: Vec<usize>,
    category: Vec<usize>,
    brand: Vec<usize>,
    details: Vec<usize>,
    names: Vec<String>,
}

impl TextColumns {
    fn from_names<'a>(path: &Path, names: impl Iterator<Item = &'a str>) -> Result<TextColumns> {
        let mut map = TextColumns::default();
        let mut item = None;
        for (i, name) in names.enumerate() {
            map.names.push(name.to_string());
            match role_of(name) {
                Some(TextRole::Item) if item.is_none() => item = Some(i),
                Some(TextRole::Item) | None => {}
                Some(TextRole::Title) => map.title.push(i),
                Some(TextRole::Category) => map.category.push(i),
                Some(TextRole::Brand) => map.brand.push(i),
                Some(TextRole::Details) => map.details.push(i),
            }
        }
        map.item = item.ok_or_else(|| ModelError::MissingColumn { path: path.to_path_buf(), column: "item (or item_id, product_id, sku, id)".into() })?;
        if map.title.is_empty() && map.category.is_empty() && map.brand.is_empty() && map.details.is_empty() {
            return Err(ModelError::MissingColumn { path: path.to_path_buf(), column: "a text column: title, category, brand or description (or a common alias)".into() });
        }
        Ok(map)
    }

    fn describe(&self) -> String {
        let names = |cols: &[usize]| cols.iter().map(|&c| self.names[c].as_str()).collect::<Vec<_>>().join("+");
        [("item", vec![self.item]), ("title", self.title.clone()), ("category", self.category.clone()), ("brand", self.brand.clone()), ("details", self.details.clone())]
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(role, c)| format!("{role}={}", names(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn used(&self) -> Vec<usize> {
        let mut cols: Vec<usize> = [vec![self.item], self.title.clone(), self.category.clone(), self.brand.clone(), self.details.clone()].concat();
        cols.sort_unstable();
        cols
    }
}

/// Reads a catalogue file (`.csv`, `.tsv`, RecBole `.item`, `.parquet`) with an item column
/// and at least one text column.
pub fn read_item_texts(path: &Path) -> Result<ItemTexts> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let format = if ext == "item" { Some(LogFormat::Delimited(b'\t')) } else { format_of(path) };
    match format {
        Some(LogFormat::Delimited(d)) => read_delimited_texts(File::open(path).map_err(io_err(path))?, path, d),
        Some(LogFormat::Parquet) => read_parquet_texts(path),
        None => Err(ModelError::Csv { path: path.to_path_buf(), message: "unknown catalogue format: use .csv, .tsv, .item or .parquet".into() }),
    }
}

/// Reads delimited catalogue text from any reader (`path` names it in errors).
pub fn read_delimited_texts(reader: impl std::io::Read, path: &Path, delimiter: u8) -> Result<ItemTexts> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| ModelError::Csv { path: path.to_path_buf(), message: e.to_string() })?.clone();
    let map = TextColumns::from_names(path, headers.iter())?;
    let width = headers.len();
    let mut texts = ItemTexts { columns: map.describe(), ..ItemTexts::default() };
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    loop {
        line += 1;
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                texts.rows_read += 1;
                texts.reject(line, format!("unreadable row: {e}"));
                continue;
            }
        }
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(line);
        if rec.len() != width {
            texts.rows_read += 1;
            texts.reject(line, format!("expected {width} fields, found {}", rec.len()));
            continue;
        }
        texts.push_row(line, &|i| rec.get(i).map(str::to_string), &map);
    }
    Ok(texts)
}

fn read_parquet_texts(path: &Path) -> Result<ItemTexts> {
    let file = ParquetFile::open(path)?;
    let map = TextColumns::from_names(path, file.names())?;
    let used = map.used();
    let mut texts = ItemTexts { columns: map.describe(), ..ItemTexts::default() };
    file.for_each_row(path, &used, |row, cells| {
        // Cells come in `used` order; map file positions to them.
        let cell = |c: usize| used.iter().position(|&u| u == c).and_then(|p| cells[p].clone());
        texts.push_row(row, &cell, &map);
    })?;
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, delimiter: u8) -> Result<ItemTexts> {
        read_delimited_texts(text.as_bytes(), Path::new("items.csv"), delimiter)
    }

    #[test]
    fn reads_a_recbole_item_file() {
        let t = read("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n1\tToy Story\t1995\tAnimation Children's Comedy\n2\tGoldenEye\t1995\tAction Adventure Thriller\n", b'\t').unwrap();
        assert_eq!(t.len(), 2);
        let toy = t.get("1").unwrap();
        assert_eq!(toy.title.as_deref(), Some("Toy Story"));
        assert_eq!(toy.category_words(), Some("Animation Children's Comedy"));
        assert_eq!(toy.details.as_deref(), Some("1995"));
        assert_eq!(toy.joined(), "Toy Story Animation Children's Comedy 1995");
        assert_eq!(t.columns, "item=item_id:token, title=movie_title:token_seq, category=class:token_seq, details=release_year:token");
    }

    #[test]
    fn joins_every_category_column_and_reports_bad_rows_by_line() {
        let csv = "PRODUCT_ID,Department,product_category,product_type,brand,package_size,manufacturer_id\n\
                   10,PRODUCE,FRUIT,APPLES  GALA,National,3 LB,7\n\
                   ,GROCERY,SOUP,,Private,,1\n\
                   11,,,,,,9\n\
                   10,DELI,CHEESE,,National,,2\n\
                   12,GROCERY\n\
                   13,MEAT,BEEF,,,\"1 LB\",3\n";
        let t = read(csv, b',').unwrap();
        assert_eq!(t.len(), 2);
        let apples = t.get("10").unwrap();
        assert_eq!(apples.category.as_deref(), Some("PRODUCE FRUIT APPLES GALA"));
        assert_eq!(apples.brand.as_deref(), Some("National"));
        assert_eq!(apples.details.as_deref(), Some("3 LB"));
        assert_eq!(t.get("13").unwrap().joined(), "MEAT BEEF 1 LB");
        assert_eq!(t.rows_read, 6);
        assert_eq!(t.malformed_rows, 4);
        let lines: Vec<(usize, &str)> = t.malformed.iter().map(|m| (m.line, m.reason.as_str())).collect();
        assert_eq!(lines[0], (3, "empty item"));
        assert_eq!(lines[1].0, 4);
        assert!(lines[1].1.contains("no text for item \"11\""), "{}", lines[1].1);
        assert!(lines[2].1.contains("given again"), "{}", lines[2].1);
        assert_eq!(lines[3], (6, "expected 7 fields, found 2"));
        assert!(t.summary(Path::new("items.csv"), 2).contains("4 rows not used"));
    }

    #[test]
    fn a_file_without_an_item_or_text_column_is_a_named_error() {
        let no_item = read("title,brand\nMilk,Acme\n", b',').unwrap_err();
        assert!(no_item.to_string().contains("item"), "{no_item}");
        let no_text = read("sku,price\n1,2.5\n", b',').unwrap_err();
        assert!(no_text.to_string().contains("a text column"), "{no_text}");
        let unknown = read_item_texts(Path::new("catalogue.xlsx")).unwrap_err();
        assert!(unknown.to_string().contains("unknown catalogue format"), "{unknown}");
    }

    #[test]
    fn long_descriptions_are_cut_to_what_the_engine_accepts() {
        let long = "word ".repeat(400);
        let t = read(&format!("id,title,description\n1,Tea,{long}\n"), b',').unwrap();
        let joined = t.get("1").unwrap().joined();
        assert!(joined.len() <= localrank_core::text::MAX_TEXT_BYTES);
        assert!(joined.starts_with("Tea word word"));
    }
}
