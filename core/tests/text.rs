//! Product text and searches on the device (issue 11): pool items sent with `text` instead of
//! a `vector` are placed by the loaded model's text tower, searches enter the model's input as
//! steps of kind `search`, and without a tower both fall back to today's behaviour with a
//! reason. Bad text is an `InvalidPool` error naming the field.

use std::rc::Rc;

use futures::executor::block_on;
use localrank_core::gpu::{BackendChoice, ModelRuntime};
use localrank_core::model::fixture::{random_model_with_text, SplitMix};
use localrank_core::model::{EncoderStep, IntentEncoder, Precision, TextTowerConfig};
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::rank::{self, RankSettings, Ranking, ShopperModel, TextUse};
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use serde_json::{json, Value};

const DIM: usize = 8;
const START: f64 = 1_780_000_000_000.0;
const TOWER: TextTowerConfig = TextTowerConfig { buckets: 512, min_n: 3, max_n: 4, dim: 6 };
const QUERY: &str = "red running shoes";

fn item_vector(i: usize) -> Vec<f32> {
    let mut rng = SplitMix(500 + i as u64);
    (0..DIM).map(|_| rng.uniform()).collect()
}

/// Twelve items with vectors, and two new products known only by their text (`new-shoes` has
/// the words of the shopper's search, below).
fn pool_json(new_items: Value) -> Value {
    let mut items: Vec<Value> = (0..12).map(|i| json!({ "id": format!("i{i}"), "vector": item_vector(i), "category": format!("c{}", i % 3), "score": 30 - i })).collect();
    items.insert(2, new_items[0].clone());
    items.insert(7, new_items[1].clone());
    json!({ "dim": DIM, "items": items })
}

fn text_pool() -> Value {
    pool_json(json!([{ "id": "new-shoes", "text": QUERY, "score": 28 }, { "id": "new-hose", "text": "Garden hose, 20 m", "category": "c1", "score": 23 }]))
}

fn pool(value: Value) -> CandidatePool {
    CandidatePool::from_input(serde_json::from_value::<PoolInput>(value).expect("pool JSON")).expect("valid pool")
}

fn pool_error(value: Value) -> (String, String) {
    let error = CandidatePool::from_input(serde_json::from_value::<PoolInput>(value).expect("pool JSON")).expect_err("invalid pool");
    assert_eq!(error.code(), "InvalidPool");
    (error.field().unwrap_or_default().to_owned(), error.to_string())
}

/// A seeded random model with a text tower, or (`text: false`) the same encoder without one:
/// the tower's tensors are drawn last, so every encoder tensor is the same for one seed.
fn model(text: bool) -> ModelRuntime {
    let (bytes, json) = random_model_with_text(DIM, 2, 2, 16, 32, Precision::F32, text.then_some(TOWER), 11).expect("fixture");
    ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), if text { "m-text" } else { "m-plain" })
}

fn history(searches: &[&str]) -> History<MemoryStore> {
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), START)).expect("opens");
    let mut at = START;
    for item in ["i3", "i5", "i3", "i9"] {
        at += 60_000.0;
        let input = EventInput { kind: Some(EventKind::View), item: Some(item.into()), timestamp: Some(at), vector: Some(item_vector(item[1..].parse().unwrap())), ..Default::default() };
        block_on(history.record(input, at)).expect("records");
    }
    for query in searches {
        at += 60_000.0;
        let input = EventInput { kind: Some(EventKind::Search), query: Some((*query).into()), timestamp: Some(at), ..Default::default() };
        block_on(history.record(input, at)).expect("records");
    }
    history
}

const NOW: f64 = START + 3_600_000.0;

fn settings() -> RankSettings {
    RankSettings { backend: BackendChoice::Cpu, ..RankSettings::default() }
}

fn rank_model(pool: &CandidatePool, history: &History<MemoryStore>, runtime: &ModelRuntime) -> Ranking {
    let cache = history.vectors();
    block_on(rank::rank_for_shopper(
        pool,
        history.events(),
        &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())),
        Some(ShopperModel { runtime, now_ms: NOW }),
        &settings(),
        &mut |e| panic!("the model failed: {e}"),
    ))
}

fn rank_cold(pool: &CandidatePool, history: &History<MemoryStore>) -> Ranking {
    let cache = history.vectors();
    rank::rank(pool, history.events(), &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())), None, &settings())
}

fn item<'r>(ranking: &'r Ranking, id: &str) -> &'r rank::RankedItem {
    ranking.items.iter().find(|i| i.id == id).unwrap_or_else(|| panic!("{id} is ranked"))
}

fn tower_vector(runtime: &ModelRuntime, text: &str) -> Vec<f32> {
    runtime.encoder().weights().text.as_ref().expect("a tower").embed("test", text).expect("embeds")
}

#[test]
fn text_only_items_are_placed_by_the_models_text_tower_as_if_sent_with_that_vector() {
    let runtime = model(true);
    let history = history(&[]);
    let text_pool = pool(text_pool());
    let ranking = rank_model(&text_pool, &history, &runtime);
    assert!(ranking.personalized, "{:?}", ranking.reason);
    assert_eq!(ranking.text, Some(TextUse { text_items: 2, searches: 0, embedded: true, reason: None }));
    assert_ne!(item(&ranking, "new-shoes").parts.intent, 0.0, "the tower gave it a vector");

    // The same products sent with the tower's vectors rank identically: the tower's vector is
    // the item's vector.
    let shoes = tower_vector(&runtime, QUERY);
    let hose = tower_vector(&runtime, "garden HOSE, 20 M");
    let vector_pool = pool(pool_json(json!([{ "id": "new-shoes", "vector": shoes, "score": 28 }, { "id": "new-hose", "vector": hose, "category": "c1", "score": 23 }])));
    let mut with_vectors = rank_model(&vector_pool, &history, &model(true));
    assert_eq!(with_vectors.text, None, "no text-only item, no search");
    with_vectors.text = ranking.text.clone();
    assert_eq!(ranking, with_vectors);

    // The pool keeps its embedded copy for this model: ranking it again embeds nothing and
    // gives the same answer.
    let filled = text_pool.text_vectors_filled().expect("kept after the ranking");
    assert_eq!(filled.vector(text_pool.position("new-shoes").unwrap()), &shoes[..]);
    assert_eq!(rank_model(&text_pool, &history, &runtime), ranking);
}

#[test]
fn without_a_tower_text_only_items_keep_a_server_place_and_the_ranking_says_why() {
    let history = history(&[QUERY]);
    let text_pool = pool(text_pool());
    let check = |ranking: &Ranking, why: &str| {
        assert!(ranking.personalized, "history vectors still personalize: {:?}", ranking.reason);
        let text = ranking.text.as_ref().expect("text use reported");
        assert_eq!((text.text_items, text.searches, text.embedded), (2, 1, false));
        let reason = text.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(why) && reason.contains("server score"), "{reason}");
        assert!(!reason.contains(QUERY), "a reason never quotes the shopper's search");
        for id in ["new-shoes", "new-hose"] {
            assert!(ranking.order.iter().any(|o| o == id), "{id} is kept");
            let parts = item(ranking, id).parts;
            assert_eq!((parts.intent, parts.neighbour), (0.0, 0.0), "{id}: no vector, no similarity");
        }
        assert_eq!(ranking.order.len(), 14);
    };
    check(&rank_cold(&text_pool, &history), "no model is loaded");
    check(&rank_model(&text_pool, &history, &model(false)), "no text tower");
    // A tower whose vectors are in another space than the pool's.
    let (bytes, json) = random_model_with_text(4, 2, 1, 16, 8, Precision::F32, Some(TOWER), 3).expect("fixture");
    let small = ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), "m-small");
    check(&rank_model(&text_pool, &history, &small), "4-dimensional vectors and this pool's dim is 8");
    // Nothing was filled in, so nothing is cached as the items' vectors.
    assert!(text_pool.text_vectors_filled().is_none());
}

#[test]
fn a_search_steers_the_models_intent_only_with_a_text_tower() {
    let pool = pool(text_pool());
    let intents = |ranking: &Ranking| ranking.items.iter().map(|i| (i.id.clone(), i.parts.intent)).collect::<std::collections::BTreeMap<_, _>>();
    let (plain, searched) = (history(&[]), history(&[QUERY]));

    let tower = model(true);
    let without = rank_model(&pool, &plain, &tower);
    let with = rank_model(&pool, &searched, &model(true));
    assert_ne!(intents(&without), intents(&with), "the search changed the intent");
    assert_eq!(with.text.as_ref().map(|t| (t.searches, t.embedded)), Some((1, true)));
    // The intent is the encoder's over the views and one `search` step whose vector is the
    // query's tower vector.
    let views: Vec<(Vec<f32>, f64)> = searched.events().iter().filter(|e| e.kind == EventKind::View).map(|e| (item_vector(e.item.as_deref().unwrap()[1..].parse().unwrap()), e.timestamp)).collect();
    let query = tower_vector(&tower, QUERY);
    let mut steps: Vec<EncoderStep> = views.iter().map(|(v, t)| EncoderStep { vector: v, kind: EventKind::View, timestamp: *t }).collect();
    steps.push(EncoderStep { vector: &query, kind: EventKind::Search, timestamp: searched.events().last().unwrap().timestamp });
    let intent = tower.encoder().encode(&steps, NOW).expect("encodes");
    let p = pool.position("i4").unwrap();
    let expected = rank::cosine(&intent, pool.vector(p));
    assert!((item(&with, "i4").parts.intent - expected).abs() < 1e-5, "{} vs {expected}", item(&with, "i4").parts.intent);
    // The item whose words are the query's is explained by the search, and only there (and in
    // no other field) does the query appear.
    let shoes = item(&with, "new-shoes");
    assert_eq!((shoes.because.as_deref(), shoes.because_kind), (Some(QUERY), Some(EventKind::Search)));
    let json = serde_json::to_string(&with).unwrap();
    let explained = with.items.iter().filter(|i| i.because_kind == Some(EventKind::Search)).count();
    assert_eq!(json.matches(QUERY).count(), explained, "{json}");

    // Without a tower the search is not read: the same intent as without it.
    let plain_model = model(false);
    assert_eq!(intents(&rank_model(&pool, &plain, &plain_model)), intents(&rank_model(&pool, &searched, &model(false))));
    // Nor on the cold path (the search shifts every view one step back in recency, which
    // scales the history's mean as a whole: the cosines agree up to rounding).
    let (cold_plain, cold_searched) = (intents(&rank_cold(&pool, &plain)), intents(&rank_cold(&pool, &searched)));
    for (id, intent) in &cold_plain {
        assert!((intent - cold_searched[id]).abs() < 1e-5, "{id}: {intent} vs {}", cold_searched[id]);
    }
    // A query with no letters or digits is stored but has no vector: skipped, not an error.
    let odd = rank_model(&pool, &history(&["?!"]), &model(true));
    assert_eq!(intents(&odd), intents(&without));
}

#[test]
fn bad_text_is_an_invalid_pool_error_naming_the_field() {
    let with_text = |text: Value| pool_json(json!([{ "id": "n1", "text": text }, { "id": "n2", "text": "fine words" }]));
    for (text, says) in [(json!(""), "is empty"), (json!("   "), "is empty"), (json!("!!! ???"), "no letters or digits"), (json!("a".repeat(1025)), "1025 bytes; at most 1024")] {
        let (field, message) = pool_error(with_text(text));
        assert_eq!(field, "items[2].text");
        assert!(message.contains(says), "{message}");
        assert_eq!(message.matches("items[2].text").count(), 1, "the field is named once: {message}");
    }
    // 1 KB of multi-byte text is counted in bytes.
    assert_eq!(pool_error(with_text(json!("é".repeat(513)))).0, "items[2].text");
    assert!(CandidatePool::from_input(serde_json::from_value(with_text(json!("é".repeat(512)))).unwrap()).is_ok());
    // Checked even on an item whose vector makes it unused.
    let (field, _) = pool_error(json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0], "text": "" }] }));
    assert_eq!(field, "items[0].text");
    // Neither vector nor text: rejected as before, the message naming both ways.
    let (field, message) = pool_error(json!({ "dim": 2, "items": [{ "id": "a" }] }));
    assert_eq!(field, "items[0].vector");
    assert!(message.contains("is required") && message.contains("`text`"), "{message}");
    // A non-string text does not parse as a pool.
    assert!(serde_json::from_value::<PoolInput>(json!({ "dim": 2, "items": [{ "id": "a", "text": 5 }] })).is_err());
    // With a `vectors` matrix every item has a vector: text is checked, and unused.
    let matrix = pool(json!({ "dim": 2, "vectors": [1, 0, 0, 1], "items": [{ "id": "a", "text": "red shoes" }, { "id": "b" }] }));
    assert_eq!(matrix.text_only_items(), 0);
    assert!(matrix.has_vector(0));
}

#[test]
fn a_clicked_text_only_item_is_cached_with_its_tower_vector_never_its_placeholder() {
    let runtime = model(true);
    let mut history = history(&[]);
    let input = EventInput { kind: Some(EventKind::Click), item: Some("new-shoes".into()), timestamp: Some(NOW - 1000.0), ..Default::default() };
    block_on(history.record(input, NOW)).expect("records");
    let text_pool = Rc::new(pool(text_pool()));
    // Not yet ranked with a tower: the row is a placeholder, not a vector to remember.
    block_on(history.remember_pool(text_pool.clone())).expect("remembers");
    assert!(history.vectors().get("new-shoes").is_none());
    assert!(history.lookup_vector("new-shoes").is_none(), "nor is it read from the remembered pool");
    let cold = rank_cold(&text_pool, &history);
    assert_eq!(item(&cold, "new-shoes").parts.intent, 0.0);

    // After a ranking with the tower the embedded vector is the one remembered.
    let ranking = rank_model(&text_pool, &history, &runtime);
    assert!(ranking.personalized);
    block_on(history.remember_pool(text_pool.clone())).expect("remembers");
    assert_eq!(history.vectors().get("new-shoes").map(|c| c.vector.clone()), Some(tower_vector(&runtime, QUERY)));
}


/// A model with a text tower from `seed`: another seed is another item space of the same dim.
fn model_seeded(seed: u64, version: &str) -> ModelRuntime {
    let (bytes, json) = random_model_with_text(DIM, 2, 2, 16, 32, Precision::F32, Some(TOWER), seed).expect("fixture");
    ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), version)
}

#[test]
fn a_new_model_ranking_the_same_pool_recaches_the_history_items_text_vectors() {
    let (a, b) = (model_seeded(11, "m-a"), model_seeded(12, "m-b"));
    assert_ne!(tower_vector(&a, QUERY), tower_vector(&b, QUERY));
    let mut history = history(&[]);
    let input = EventInput { kind: Some(EventKind::Click), item: Some("new-shoes".into()), timestamp: Some(NOW - 1000.0), ..Default::default() };
    block_on(history.record(input, NOW)).expect("records");
    let text_pool = Rc::new(pool(text_pool()));
    rank_model(&text_pool, &history, &a);
    block_on(history.remember_pool(text_pool.clone())).expect("remembers");
    assert_eq!(history.vectors().get("new-shoes").map(|c| c.vector.clone()), Some(tower_vector(&a, QUERY)));
    // A new model of the same dim is loaded and the same pool object is ranked again: the
    // history item's cached vector is the new tower's, not the old one's.
    rank_model(&text_pool, &history, &b);
    block_on(history.remember_pool(text_pool.clone())).expect("remembers");
    assert_eq!(history.vectors().get("new-shoes").map(|c| c.vector.clone()), Some(tower_vector(&b, QUERY)));
}
