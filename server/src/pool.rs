//! The non-personal candidate pool: the catalogue's products that have a learned vector,
//! most popular first, with a few new arrivals — products the model never trained on, whose
//! vector was placed by their text (the item table's text-only rows) — given slots on the first
//! page. It is the same for every visitor; the page personalizes it locally.
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// A new arrival: the model never trained on it, and `vector` was placed by its text (a
    /// text-only row of the item table). For the page's "new" badge; the
    /// engine ignores it. Omitted when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_new: bool,
}

/// At most this many new arrivals in the pool: enough for the homepage to show some, few
/// enough that the page stays mostly what shoppers buy.
pub const NEW_IN_POOL: usize = 8;

/// New arrival `k` (from 0) takes pool position `NEW_EVERY · (k + 1) − 1`: slots 6, 12, …, 48
/// counted from 1, so all eight are on a 48-product first page in the server order. Their
/// popularity is near 0, so a popularity cut alone would never show them. The engine's server
/// order sorts by `score` (ties keep the pool order), so a new arrival's `score` is that of
/// the product before it: the server order is then the pool order, and the server part of a
/// personalized ranking treats it as its neighbours on the page; how well its text fits the
/// shopper moves it from there.
pub const NEW_EVERY: usize = 6;

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
    /// How many items are new arrivals.
    new_count: usize,
}

/// The catalogue products to show as new arrivals, at most [`NEW_IN_POOL`], among those with a
/// text-only row: first one per department, the departments in the order the learned pool
/// shows them (new in Produce, new in Meat, … — the aisles of the homepage first), then one per
/// category not yet shown (a page of eight new yogurts would say little). Within each, the
/// catalogue's order picks: it has no launch dates, so popularity, then id; a store would pick
/// its newest products here.
fn new_arrivals<'a>(
    table: &ItemTable,
    catalogue: &'a Catalogue,
    rows: &HashMap<&str, usize>,
    learned: &[(&Product, usize)],
) -> Vec<(&'a Product, usize)> {
    let candidates: Vec<(&Product, usize)> = catalogue
        .products
        .iter()
        .filter_map(|p| rows.get(p.id.as_str()).map(|&row| (p, row)))
        .filter(|&(_, row)| table.is_text_only(row))
        .collect();
    let mut departments: Vec<&str> = Vec::new();
    for (p, _) in learned {
        if !departments.contains(&p.department.as_str()) {
            departments.push(&p.department);
        }
    }
    let mut chosen: Vec<(&Product, usize)> = departments
        .iter()
        .filter_map(|d| candidates.iter().find(|(p, _)| p.department == *d).copied())
        .take(NEW_IN_POOL)
        .collect();
    let mut categories: HashSet<&str> = chosen.iter().map(|(p, _)| p.category.as_str()).collect();
    for &(p, row) in &candidates {
        if chosen.len() >= NEW_IN_POOL {
            break;
        }
        if !chosen.iter().any(|(c, _)| c.id == p.id) && categories.insert(&p.category) {
            chosen.push((p, row));
        }
    }
    chosen
}

impl Pool {
    pub fn build(table: &ItemTable, catalogue: &Catalogue, model: String) -> Result<Pool> {
        let rows: HashMap<&str, usize> = table
            .ids
            .iter()
            .enumerate()
            .map(|(k, id)| (id.as_str(), k))
            .collect();
        // The catalogue is sorted by popularity (ties by id), so the pool order is the server's.
        let learned: Vec<(&Product, usize)> = catalogue
            .products
            .iter()
            .filter_map(|p| rows.get(p.id.as_str()).map(|&row| (p, row)))
            .filter(|&(_, row)| !table.is_text_only(row))
            .collect();
        let new = new_arrivals(table, catalogue, &rows, &learned);
        // (product, table row, new arrival?, score)
        let mut order: Vec<(&Product, usize, bool, u64)> = learned
            .iter()
            .map(|&(p, row)| (p, row, false, p.popularity))
            .collect();
        for (k, &(p, row)) in new.iter().enumerate() {
            let at = (NEW_EVERY * (k + 1) - 1).min(order.len());
            let score = at
                .checked_sub(1)
                .map_or(p.popularity, |before| order[before].3);
            order.insert(at, (p, row, true, score));
        }
        let mut items_json = Vec::new();
        let mut products = HashMap::new();
        let mut images = BTreeMap::new();
        let mut categories = Vec::new();
        for (product, row, is_new, score) in order {
            let item = PoolItem {
                id: &product.id,
                vector: table.vector(row),
                score,
                category: &product.category,
                price: product.price,
                repeat: true,
                rebuy_rate: table.rebuy_rate(row),
                title: &product.title,
                department: &product.department,
                image_key: &product.category,
                // A new arrival has no co-occurrence list (nobody bought it in the training
                // data): none is sent rather than an empty one that would read as "no
                // similar products".
                neighbours: table.neighbours.as_ref().filter(|_| !is_new).map(|n| {
                    let (ids, weights) = n.of(row).map(|(j, w)| (table.ids[j].as_str(), w)).unzip();
                    Neighbours { ids, weights }
                }),
                is_new,
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
            new_count: new.len(),
        })
    }

    pub fn len(&self) -> usize {
        self.items_json.len()
    }

    /// How many of the pool's items are new arrivals.
    pub fn new_arrivals(&self) -> usize {
        self.new_count
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

#[cfg(test)]
mod tests {
    use super::*;
    use localrank_core::format::ItemNeighbours;

    fn product(id: &str, category: &str, popularity: u64) -> Product {
        Product {
            id: id.into(),
            title: format!("{category} {id}"),
            category: category.into(),
            department: "Grocery".into(),
            price: Some(1.0),
            popularity,
        }
    }

    /// 12 learned rows (`l0`…`l11`, popularity 100 down; the last in Produce, the rest in
    /// Grocery), then text-only rows: two yogurts and ten products of ten other categories (the
    /// last, `n9`, in Produce).
    fn shop() -> (ItemTable, Catalogue) {
        let mut ids: Vec<String> = (0..12).map(|k| format!("l{k}")).collect();
        let mut products: Vec<Product> = (0..12)
            .map(|k| product(&format!("l{k}"), "Milk", 100 - k as u64))
            .collect();
        products[11].department = "Produce".into();
        ids.extend(["y1".to_string(), "y2".to_string()]);
        products.push(product("y1", "Yogurt", 3));
        products.push(product("y2", "Yogurt", 5));
        for k in 0..10 {
            ids.push(format!("n{k}"));
            products.push(product(&format!("n{k}"), &format!("Aisle {k}"), 0));
        }
        // The least popular new product is the only one in Produce, a department the pool shows.
        products.last_mut().unwrap().department = "Produce".into();
        let dim = 2;
        let vectors = (0..ids.len()).flat_map(|r| [r as f32, 1.0]).collect();
        // One neighbour per learned row (the next one), rates for the learned rows only.
        let neighbours = ItemNeighbours {
            k: 1,
            rows: (0..12).map(|r| (r + 1) % 12).collect(),
            weights: vec![0.5; 12],
        };
        let table = ItemTable {
            dim,
            ids,
            vectors,
            learned: 12,
            neighbours: Some(neighbours),
            rebuy_rates: Some(vec![0.25; 12]),
        };
        let mut catalogue = Catalogue { build: 0, products };
        catalogue.products.sort_by(|a, b| {
            b.popularity
                .cmp(&a.popularity)
                .then_with(|| a.id.cmp(&b.id))
        });
        (table, catalogue)
    }

    fn items(pool: &Pool, n: usize) -> Vec<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(&pool.to_json(n)).unwrap();
        json["items"].as_array().unwrap().clone()
    }

    #[test]
    fn new_arrivals_get_first_page_slots_one_per_department_then_per_category() {
        let (table, catalogue) = shop();
        let pool = Pool::build(&table, &catalogue, "m0".into()).unwrap();
        assert_eq!(pool.new_arrivals(), NEW_IN_POOL);
        assert_eq!(pool.len(), 12 + NEW_IN_POOL);
        let all = items(&pool, 200);
        let new: Vec<(usize, &str)> = all
            .iter()
            .enumerate()
            .filter(|(_, i)| i["isNew"] == true)
            .map(|(k, i)| (k, i["id"].as_str().unwrap()))
            .collect();
        // One per department the pool shows (Grocery: the more popular yogurt; Produce: n9),
        // then one per other category by popularity and id (the other yogurt's category is
        // taken), at slots 6, 12, then after the 12 learned products (none left to put between).
        assert_eq!(
            new,
            [(5, "y2"), (11, "n9"), (14, "n0"), (15, "n1"), (16, "n2"), (17, "n3"), (18, "n4"), (19, "n5")]
        );
        let y2 = &all[5];
        assert_eq!(y2["vector"], serde_json::json!([13.0, 1.0]), "the text-only row 13");
        // The score of the product before it, so that sorting by score (the engine's server
        // order, stable) keeps the pool order.
        assert_eq!((all[4]["id"].as_str(), y2["score"].as_u64()), (Some("l4"), Some(96)));
        let scores: Vec<u64> = all.iter().map(|i| i["score"].as_u64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert!(y2.get("neighbours").is_none() && y2.get("rebuyRate").is_none(), "{y2}");
        // Learned items keep their lists and rates and carry no flag; the server order of the
        // learned items is unchanged.
        let learned: Vec<&str> = all
            .iter()
            .filter(|i| i.get("isNew").is_none())
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(learned, (0..12).map(|k| format!("l{k}")).collect::<Vec<_>>());
        assert_eq!(all[0]["rebuyRate"], 0.25);
        assert_eq!(all[0]["neighbours"]["ids"], serde_json::json!(["l1"]));
        // A short pool keeps the slots it reaches.
        let six = items(&pool, 6);
        assert_eq!(six[5]["id"], "y2");
    }

    #[test]
    fn a_table_without_text_only_rows_gives_the_popularity_pool() {
        let (mut table, catalogue) = shop();
        table.learned = table.ids.len();
        // Every row learned: nothing is new, and the order is plain popularity.
        let pool = Pool::build(&table, &catalogue, "m0".into()).unwrap();
        assert_eq!(pool.new_arrivals(), 0);
        let all = items(&pool, 200);
        assert!(all.iter().all(|i| i.get("isNew").is_none()));
        let scores: Vec<u64> = all.iter().map(|i| i["score"].as_u64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
}
