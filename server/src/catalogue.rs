//! The shop's catalogue: what a storefront knows about its products without knowing anything
//! about a shopper — titles, categories, prices and how popular each product is overall.
//!
//! Built once from the Complete Journey files (`products.parquet`, `transactions.parquet`) and
//! cached as JSON next to the model artifacts, because reading 1.5 M transaction rows takes
//! seconds and the result never changes for a given data set.
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ServerError, io_err};

/// One product as the homepage shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    /// "Yogurt, 32 oz": product type and package size (the data set has no product names).
    pub title: String,
    /// The product category ("Yogurt"): what the engine's category affinity works on.
    pub category: String,
    /// The department ("Grocery"), shown as a label and used for the placeholder's colour.
    pub department: String,
    /// Median unit price (sales value / quantity) over the product's sales, in dollars.
    pub price: Option<f64>,
    /// How many transactions bought it: the non-personal popularity score.
    pub popularity: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalogue {
    /// How the catalogue was built ([`Catalogue::BUILD_VERSION`]); a cache written by other
    /// rules is rebuilt. Absent (0) in hand-written catalogues, which are used as they are.
    #[serde(default)]
    pub build: u32,
    pub products: Vec<Product>,
}

/// Departments that are not shop products (fuel, coupons, postage): they never appear on a
/// grocery homepage, so they are left out of the catalogue.
const NOT_PRODUCTS: &[&str] = &[
    "FUEL",
    "COUPON",
    "PROD-WHS SALES",
    "KIOSK-GAS",
    "COUPON/MISC ITEMS",
    "MISC SALES TRAN",
    "POSTAL CENTER",
    "MISCELLANEOUS",
    "MISC. TRANS.",
    "GM MERCH EXP",
    "CNTRL/STORE SUP",
];

impl Catalogue {
    /// Bump when the rules below change, so cached catalogues are rebuilt.
    pub const BUILD_VERSION: u32 = 2;

    pub fn read_json(path: &Path) -> Result<Catalogue> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        serde_json::from_str(&text).map_err(|source| ServerError::Json {
            path: path.to_path_buf(),
            what: "a catalogue",
            source,
        })
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|source| ServerError::Json {
            path: path.to_path_buf(),
            what: "a catalogue",
            source,
        })?;
        // Write then rename, so an interrupted first start never leaves half a cache behind.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|source| ServerError::Write {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(|source| ServerError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The cached catalogue if `cache` exists, else built from the Parquet files and cached.
    pub fn load_or_build(cache: &Path, products: &Path, transactions: &Path) -> Result<Catalogue> {
        if cache.is_file() {
            let cached = Catalogue::read_json(cache)?;
            if cached.build == Catalogue::BUILD_VERSION {
                return Ok(cached);
            }
        }
        let catalogue = Catalogue::from_complete_journey(products, transactions)?;
        catalogue.write_json(cache)?;
        Ok(catalogue)
    }

    /// Builds the catalogue from Complete Journey's `products.parquet` (product_id, department,
    /// product_category, product_type, package_size) and `transactions.parquet` (product_id,
    /// quantity, sales_value).
    pub fn from_complete_journey(products: &Path, transactions: &Path) -> Result<Catalogue> {
        let mut sales: HashMap<String, (u64, Vec<f64>)> = HashMap::new();
        for_each_row(
            transactions,
            &["product_id", "quantity", "sales_value"],
            |cells| {
                let Some(id) = cells[0].as_ref().and_then(text) else {
                    return;
                };
                let entry = sales.entry(id).or_default();
                entry.0 += 1;
                let number = |c: &Option<Field>| c.as_ref().and_then(number);
                // Returns and coupons have quantity 0 or a non-positive value: no price from them.
                if let (Some(q), Some(v)) = (number(&cells[1]), number(&cells[2]))
                    && q > 0.0
                    && v > 0.0
                {
                    entry.1.push(v / q);
                }
            },
        )?;

        let mut catalogue = Catalogue {
            build: Catalogue::BUILD_VERSION,
            products: Vec::new(),
        };
        for_each_row(
            products,
            &[
                "product_id",
                "department",
                "product_category",
                "product_type",
                "package_size",
            ],
            |cells| {
                let get = |i: usize| {
                    cells[i]
                        .as_ref()
                        .and_then(text)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                };
                let (Some(id), Some(department)) = (get(0), get(1)) else {
                    return;
                };
                if NOT_PRODUCTS.contains(&department.as_str()) {
                    return;
                }
                let Some((count, prices)) = sales.get_mut(&id) else {
                    return;
                };
                let category = get(2);
                if category.as_deref().is_some_and(|c| c.contains("COUPON")) {
                    return;
                }
                // A product nobody paid for (only coupons or returns) has no shelf price.
                let Some(price) = median(prices)
                    .map(|p| (p * 100.0).round() / 100.0)
                    .filter(|p| *p > 0.0)
                else {
                    return;
                };
                let Some(kind) = get(3).or_else(|| category.clone()) else {
                    return;
                };
                let category = display_case(category.as_deref().unwrap_or(&department));
                let mut title = display_case(&kind);
                // Some types are one word that only makes sense with the category ("Lean" beef).
                let (t, c) = (title.to_lowercase(), category.to_lowercase());
                if !t.contains(' ') && !c.contains(' ') && !t.contains(&c) && !c.contains(&t) {
                    title = format!("{title} {category}");
                }
                if let Some(size) = get(4) {
                    title = format!("{title}, {}", size_text(&size));
                }
                catalogue.products.push(Product {
                    id,
                    title,
                    category,
                    department: display_case(&department),
                    price: Some(price),
                    popularity: *count,
                });
            },
        )?;
        catalogue.products.sort_by(|a, b| {
            b.popularity
                .cmp(&a.popularity)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(catalogue)
    }
}

/// "1 GA" → "1 gal", "32 OZ" → "32 oz".
fn size_text(size: &str) -> String {
    let lower = size.to_lowercase();
    match lower.strip_suffix(" ga") {
        Some(n) => format!("{n} gal"),
        None => lower,
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let m = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[m]
    } else {
        (values[m - 1] + values[m]) / 2.0
    })
}

/// "FRZN ICE CREAM/MILK/SHERBTS" → "Frzn Ice Cream/Milk/Sherbts": the data is upper case.
pub fn display_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() || c == '\'' {
            if start {
                out.extend(c.to_uppercase())
            } else {
                out.extend(c.to_lowercase())
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

fn text(f: &Field) -> Option<String> {
    Some(match f {
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Double(v) => format!("{v}"),
        Field::Null => return None,
        other => other.to_string(),
    })
}

fn number(f: &Field) -> Option<f64> {
    match f {
        Field::Double(v) => Some(*v),
        Field::Float(v) => Some(f64::from(*v)),
        Field::Int(v) => Some(f64::from(*v)),
        Field::Long(v) => Some(*v as f64),
        Field::Short(v) => Some(f64::from(*v)),
        Field::UInt(v) => Some(f64::from(*v)),
        Field::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// Calls `f` with the named columns of every row (in `columns` order, `None` when null).
fn for_each_row(path: &Path, columns: &[&str], mut f: impl FnMut(&[Option<Field>])) -> Result<()> {
    let perr = |e: parquet::errors::ParquetError| ServerError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io_err(path))?;
    let reader = SerializedFileReader::new(file).map_err(perr)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mut index = HashMap::new();
    for (k, c) in columns.iter().enumerate() {
        // The first column is the key: without it nothing can be read. Others may be missing.
        match names.iter().position(|n| n == c) {
            Some(_) => {
                index.insert(c.to_string(), k);
            }
            None if k == 0 || *c == "department" => {
                return Err(ServerError::MissingColumn {
                    path: path.to_path_buf(),
                    column: c.to_string(),
                });
            }
            None => {}
        }
    }
    let mut cells: Vec<Option<Field>> = vec![None; columns.len()];
    for row in reader.get_row_iter(None).map_err(perr)? {
        let row = row.map_err(perr)?;
        cells.iter_mut().for_each(|c| *c = None);
        for (name, field) in row.get_column_iter() {
            if let Some(&k) = index.get(name.as_str()) {
                cells[k] = Some(field.clone());
            }
        }
        f(&cells);
    }
    Ok(())
}
