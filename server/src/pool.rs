//! The non-personal candidate pool: the catalogue's products that have a learned vector,
//! most popular first. It is the same for every visitor; the page personalizes it locally.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::catalogue::{Catalogue, Product};
use crate::error::{Result, ServerError};
use crate::items::ItemTable;

/// One pool item in the engine's `PoolInput` shape (docs: README "Ranking the homepage"),
/// plus display fields the engine ignores.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PoolItem<'a> {
    id: &'a str,
    vector: &'a [f32],
    score: u64,
    category: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    /// Groceries are bought again and again: without this the engine would sink items the
    /// shopper already bought to the end of the page (its rule for one-off purchases).
    repeat: bool,
    /// The share of the product's buyers who bought it again (the item table's
    /// `item_rebuy_rates`, when the export has them): the engine's repeat part scales by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    rebuy_rate: Option<f32>,
    title: &'a str,
    department: &'a str,
    /// The item's co-occurrence neighbours from the item table, when the export has them: the
    /// engine's neighbour part (item-kNN on the device) reads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    neighbours: Option<Neighbours<'a>>,
    /// Key into the pool's `images`: the placeholder is per category, sent inline with the
    /// pool, so showing a product never costs a request (which would tell the server what
    /// the personalized page shows).
    image_key: &'a str,
}

/// `{ ids, weights }`: the engine's `NeighboursInput`.
#[derive(Serialize)]
struct Neighbours<'a> {
    ids: Vec<&'a str>,
    weights: Vec<f32>,
}

/// The pool, pre-rendered: each item's JSON text once at start-up, so a request only joins
/// the first `n` of them.
pub struct Pool {
    pub dim: usize,
    pub model: String,
    items_json: Vec<String>,
    /// Products by id.
    pub products: HashMap<String, Product>,
    /// Category → placeholder image (an SVG data URL).
    images: BTreeMap<String, String>,
    /// The category of each item of `items_json`, same order.
    categories: Vec<String>,
}

impl Pool {
    pub fn build(table: &ItemTable, catalogue: &Catalogue, model: String) -> Result<Pool> {
        let rows: HashMap<&str, usize> = table
            .ids
            .iter()
            .enumerate()
            .map(|(k, id)| (id.as_str(), k))
            .collect();
        let mut items_json = Vec::new();
        let mut products = HashMap::new();
        let mut images = BTreeMap::new();
        let mut categories = Vec::new();
        // The catalogue is sorted by popularity (ties by id), so the pool order is the server's.
        for product in &catalogue.products {
            let Some(&row) = rows.get(product.id.as_str()) else {
                continue;
            };
            let item = PoolItem {
                id: &product.id,
                vector: table.vector(row),
                score: product.popularity,
                category: &product.category,
                price: product.price,
                repeat: true,
                rebuy_rate: table.rebuy_rates.as_ref().and_then(|r| r.get(row).copied()),
                title: &product.title,
                department: &product.department,
                image_key: &product.category,
                neighbours: table.neighbours.as_ref().map(|n| {
                    let (ids, weights) = n.of(row).map(|(j, w)| (table.ids[j].as_str(), w)).unzip();
                    Neighbours { ids, weights }
                }),
            };
            // Serializing plain strings and finite floats (checked when the table was read)
            // cannot fail.
            items_json.push(serde_json::to_string(&item).unwrap_or_default());
            categories.push(product.category.clone());
            if !images.contains_key(&product.category) {
                images.insert(product.category.clone(), crate::image::data_url(product));
            }
            products.insert(product.id.clone(), product.clone());
        }
        if items_json.is_empty() {
            return Err(ServerError::EmptyPool);
        }
        Ok(Pool {
            dim: table.dim,
            model,
            items_json,
            products,
            images,
            categories,
        })
    }

    pub fn len(&self) -> usize {
        self.items_json.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items_json.is_empty()
    }

    /// `{"model":…,"dim":…,"items":[the first n],"images":{category: data URL}}` (only the
    /// categories of those n items).
    pub fn to_json(&self, n: usize) -> String {
        let take = n.min(self.items_json.len());
        let mut out = String::with_capacity(
            64 + self.items_json[..take]
                .iter()
                .map(|s| s.len() + 1)
                .sum::<usize>(),
        );
        out.push_str("{\"model\":");
        out.push_str(&serde_json::Value::String(self.model.clone()).to_string());
        out.push_str(&format!(",\"dim\":{},\"items\":[", self.dim));
        for (k, item) in self.items_json[..take].iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push_str("],\"images\":");
        let used: BTreeMap<&str, &str> = self.categories[..take]
            .iter()
            .map(|c| {
                (
                    c.as_str(),
                    self.images.get(c).map(String::as_str).unwrap_or(""),
                )
            })
            .collect();
        out.push_str(&serde_json::to_string(&used).unwrap_or_else(|_| "{}".into()));
        out.push('}');
        out
    }
}
