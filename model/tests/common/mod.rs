//! Small data sets with a known structure, shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset
use localrank_model::data::{Dataset, Event};

/// Each user walks a cycle over the catalogue from their own start: item i is always followed
/// by item (i + 1) mod n. A sequential model can learn this exactly; popularity cannot.
pub fn cyclic_dataset(users: usize, items: usize, len: usize) -> Dataset {
    let sequences: Vec<Vec<Event>> = (0..users)
        .map(|u| (0..len).map(|t| Event { item: ((u * 7 + t) % items) as u32, kind: 0, ts: 1_000 + (t as i64) * 60 }).collect())
        .collect();
    synthetic("cyclic", vec![None; items], sequences)
}

/// A data set with items `i0…` (one category entry each) and users `u0…` (one sequence each).
pub fn synthetic(name: &str, item_category: Vec<Option<String>>, sequences: Vec<Vec<Event>>) -> Dataset {
    let items = item_category.len();
    Dataset {
        name: name.into(),
        item_ids: (0..items).map(|i| format!("i{i}")).collect(),
        item_category,
        item_price: vec![None; items],
        user_ids: (0..sequences.len()).map(|u| format!("u{u}")).collect(),
        sequences,
        notes: vec![],
        basket_starts: vec![],
        item_text: vec![],
        catalogue_text: vec![],
    }
}

