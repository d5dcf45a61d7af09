//! Ranking rules and ordering properties, natively. tests/browser_rank.rs runs the same API end
//! to end through the JS boundary and IndexedDB.

use futures::executor::block_on;
use localrank_core::pool::{CandidatePool, PoolInput};
use localrank_core::gpu::Backend;
use localrank_core::rank::{self, BlendWeights, BlendWeightsInput, IntentSource, ModelIntent, RankOptions, RankSettings, Ranking, SlotRule};
use localrank_core::{EventInput, EventKind, History, MemoryStore, OpenOptions};
use serde_json::json;

const NOW: f64 = 1_780_000_000_000.0;

/// A catalogue of three categories whose vectors point in three directions (plus noise per item).
fn catalogue_pool() -> serde_json::Value {
    let mut items = Vec::new();
    for (c, category) in ["shoes", "books", "garden"].iter().enumerate() {
        for k in 0..6 {
            let mut vector = vec![0.05 * k as f32; 3];
            vector[c] = 1.0;
            // Interleave categories in the server order, server scores falling.
            let position = k * 3 + c;
            items.push((position, json!({ "id": format!("{category}-{k}"), "vector": vector, "category": category, "score": 100 - position })));
        }
    }
    items.sort_by_key(|(p, _)| *p);
    json!({ "dim": 3, "items": items.into_iter().map(|(_, item)| item).collect::<Vec<_>>() })
}

fn pool(value: serde_json::Value) -> CandidatePool {
    CandidatePool::from_input(serde_json::from_value::<PoolInput>(value).expect("pool JSON")).expect("valid pool")
}

fn pool_error(value: serde_json::Value) -> String {
    let error = CandidatePool::from_input(serde_json::from_value::<PoolInput>(value).expect("pool JSON")).unwrap_err();
    assert_eq!(error.code(), "InvalidPool");
    format!("{} | {}", error.field().unwrap_or(""), error)
}

fn history_of(events: &[(&str, EventKind, Option<Vec<f32>>, Option<&str>)]) -> History<MemoryStore> {
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), NOW)).unwrap();
    for (i, (item, kind, vector, category)) in events.iter().enumerate() {
        let input = EventInput {
            kind: Some(*kind),
            item: Some(item.to_string()),
            timestamp: Some(NOW - 1000.0 + i as f64),
            vector: vector.clone(),
            category: category.map(str::to_owned),
            ..Default::default()
        };
        block_on(history.record(input, NOW)).unwrap();
    }
    history
}

fn rank_with(pool: &CandidatePool, history: &History<MemoryStore>, settings: RankSettings) -> Ranking {
    let cache = history.vectors();
    rank::rank(pool, history.events(), &|id| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref())), None, &settings)
}

fn order(ranking: &Ranking) -> Vec<&str> {
    ranking.order.iter().map(String::as_str).collect()
}

#[test]
fn a_shopper_who_viewed_only_books_sees_books_first() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("books-1", EventKind::View, None, None), ("books-4", EventKind::View, None, None)]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert!(ranking.personalized, "{:?}", ranking.reason);
    assert_eq!(ranking.intent, IntentSource::History);
    assert!(order(&ranking)[..6].iter().all(|id| id.starts_with("books")), "{:?}", ranking.order);
    // The server order interleaves categories: personalization really moved things.
    assert_ne!(ranking.order, pool.server_order());
    assert_eq!(ranking.items.len(), pool.len());
}

#[test]
fn history_vectors_come_from_the_cache_when_the_item_is_not_in_the_pool() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("old-garden-item", EventKind::Purchase, Some(vec![0.0, 0.0, 1.0]), None)]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert!(order(&ranking)[0].starts_with("garden"), "{:?}", ranking.order);
}

#[test]
fn category_affinity_alone_personalizes_when_no_vector_is_known() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("elsewhere", EventKind::View, None, Some("garden"))]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert!(ranking.personalized);
    assert_eq!(ranking.intent, IntentSource::None);
    // Affinity lifts the whole category; MMR may let one other item into the first eight.
    assert!(order(&ranking)[..4].iter().all(|id| id.starts_with("garden")), "{:?}", ranking.order);
    assert_eq!(order(&ranking)[..8].iter().filter(|id| id.starts_with("garden")).count(), 6, "{:?}", ranking.order);
}

#[test]
fn diversity_one_equals_pure_relevance_order() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("shoes-0", EventKind::View, None, None), ("books-0", EventKind::Cart, None, None)]);
    let settings = RankOptions { diversity: Some(1.0), ..Default::default() }.resolve(RankSettings::default()).unwrap();
    let ranking = rank_with(&pool, &history, settings);
    let mut by_score = ranking.items.clone();
    by_score.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap());
    assert_eq!(ranking.items.iter().map(|i| &i.id).collect::<Vec<_>>(), by_score.iter().map(|i| &i.id).collect::<Vec<_>>());
    // Lower λ mixes categories into the first screen.
    let diverse = rank_with(&pool, &history, RankOptions { diversity: Some(0.3), ..Default::default() }.resolve(RankSettings::default()).unwrap());
    let categories = |r: &Ranking| r.order[..3].iter().map(|id| id.split('-').next().unwrap().to_owned()).collect::<std::collections::HashSet<_>>().len();
    assert!(categories(&diverse) > categories(&ranking), "{:?} vs {:?}", diverse.order, ranking.order);
}

#[test]
fn pinned_and_sponsored_items_hold_their_slots() {
    let mut value = catalogue_pool();
    value["items"][17]["pinned"] = json!(0); // garden-5, the server's last item, pinned first
    value["items"][4]["sponsored"] = json!(true); // books-1 sponsored at server slot 4
    value["items"][5]["pinned"] = json!(100); // beyond the end: goes last
    let pool = pool(value);
    let history = history_of(&[("shoes-2", EventKind::Purchase, None, None)]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert_eq!(order(&ranking)[0], "garden-5");
    assert_eq!(ranking.items[0].rule, Some(SlotRule::Pinned));
    assert_eq!(order(&ranking)[4], "books-1");
    assert_eq!(ranking.items[4].rule, Some(SlotRule::Sponsored));
    assert_eq!(*order(&ranking).last().unwrap(), pool.items[5].id);
    assert_eq!(ranking.order.len(), pool.len());
}

#[test]
fn unavailable_items_drop_and_purchases_sink_unless_repeat() {
    let mut value = catalogue_pool();
    value["items"][0]["available"] = json!(false); // shoes-0
    value["items"][3]["repeat"] = json!(true); // shoes-1 is a repeat-purchase item
    let pool = pool(value);
    let history = history_of(&[("shoes-2", EventKind::Purchase, None, None), ("shoes-1", EventKind::Purchase, None, None)]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert_eq!(ranking.dropped, ["shoes-0"]);
    assert!(!ranking.order.contains(&"shoes-0".to_owned()));
    assert_eq!(*order(&ranking).last().unwrap(), "shoes-2", "bought, not repeat: last");
    assert_eq!(ranking.items.last().unwrap().rule, Some(SlotRule::Purchased));
    assert_eq!(order(&ranking)[0], "shoes-1", "bought but repeatable: still ranked on merit");
}

#[test]
fn explanations_name_the_most_similar_history_item() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[
        ("books-9", EventKind::View, Some(vec![0.0, 1.0, 0.0]), None),
        ("garden-9", EventKind::Purchase, Some(vec![0.0, 0.0, 1.0]), None),
    ]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    let item = |id: &str| ranking.items.iter().find(|i| i.id == id).unwrap();
    assert_eq!(item("books-2").because.as_deref(), Some("books-9"));
    assert_eq!(item("books-2").because_kind, Some(EventKind::View));
    assert_eq!(item("garden-0").because.as_deref(), Some("garden-9"));
    assert_eq!(item("garden-0").because_kind, Some(EventKind::Purchase));
    assert_eq!(item("shoes-0").because, None, "nothing similar in history");
    let quiet = rank_with(&pool, &history, RankOptions { explain: Some(false), ..Default::default() }.resolve(RankSettings::default()).unwrap());
    assert!(quiet.items.iter().all(|i| i.because.is_none()));
    // Only the first `explainTop` positions are explained.
    let top = rank_with(&pool, &history, RankOptions { explain_top: Some(2.0), ..Default::default() }.resolve(RankSettings::default()).unwrap());
    assert!(top.items[..2].iter().all(|i| i.because.is_some()));
    assert!(top.items[2..].iter().all(|i| i.because.is_none()));
}

#[test]
fn weights_can_be_overridden_per_call() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("books-1", EventKind::View, None, None)]);
    let settings = RankOptions {
        weights: Some(serde_json::from_value(json!({ "intent": 0, "affinity": 0 })).unwrap()),
        diversity: Some(1.0),
        ..Default::default()
    }
    .resolve(RankSettings::default())
    .unwrap();
    let ranking = rank_with(&pool, &history, settings);
    assert_eq!(ranking.order, pool.server_order(), "server weight alone gives the server order");
    let bad = RankOptions { diversity: Some(1.5), ..Default::default() }.resolve(RankSettings::default()).unwrap_err();
    assert_eq!(bad.field(), Some("diversity"));
    let bad = serde_json::from_value::<RankOptions>(json!({ "weights": { "server": -1 } })).unwrap().resolve(RankSettings::default()).unwrap_err();
    assert_eq!(bad.field(), Some("weights.server"));
}

#[test]
fn a_models_tuned_weights_apply_when_it_computed_the_intent_and_the_call_still_wins() {
    let pool = pool(catalogue_pool());
    let history = history_of(&[("books-1", EventKind::View, None, Some("books"))]);
    let cache = history.vectors();
    let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
    // The model's intent points at garden; its tuned weights trust the intent alone.
    let tuned = BlendWeights { intent: 1.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 0.0 };
    let intent = |blend| ModelIntent { vector: vec![0.0, 0.0, 1.0], scores: None, backend: Backend::Cpu, fallback: None, version: "test".into(), blend, blend_neighbours: None, repeat: None, repeat_scorer: None };
    let settings = RankOptions { diversity: Some(1.0), ..Default::default() }.resolve(RankSettings::default()).unwrap();

    let ranking = rank::rank(&pool, history.events(), &lookup, Some(intent(Some(tuned))), &settings);
    assert_eq!(ranking.intent, IntentSource::Model);
    assert_eq!(ranking.weights, Some(tuned));
    assert!(order(&ranking)[..6].iter().all(|id| id.starts_with("garden")), "{:?}", ranking.order);

    // Without tuned weights the defaults apply, and the books affinity pulls books up front.
    let untuned = rank::rank(&pool, history.events(), &lookup, Some(intent(None)), &settings);
    assert_eq!(untuned.weights, Some(BlendWeights::default()));
    assert_ne!(untuned.order, ranking.order);

    // A call's own weight overrides the tuned one; the rest stay tuned.
    let call = RankOptions { weights: Some(BlendWeightsInput { affinity: Some(10.0), ..Default::default() }), diversity: Some(1.0), ..Default::default() }
        .resolve(RankSettings::default())
        .unwrap();
    let overridden = rank::rank(&pool, history.events(), &lookup, Some(intent(Some(tuned))), &call);
    assert_eq!(overridden.weights, Some(BlendWeights { affinity: 10.0, ..tuned }));
    assert!(order(&overridden)[..6].iter().all(|id| id.starts_with("books")), "{:?}", overridden.order);

    // The cold path (no model intent) keeps the defaults: tuned weights belong to the model.
    let cold = rank_with(&pool, &history, settings);
    assert_eq!(cold.intent, IntentSource::History);
    assert_eq!(cold.weights, Some(BlendWeights::default()));
}

#[test]
fn fails_open_to_the_server_order_with_a_reason() {
    let pool = pool(catalogue_pool());
    let empty = history_of(&[]);
    let ranking = rank_with(&pool, &empty, RankSettings::default());
    assert!(!ranking.personalized);
    assert_eq!(ranking.order, pool.server_order());
    assert!(ranking.reason.as_deref().unwrap().contains("no history"));

    let unknown = history_of(&[("never-seen", EventKind::View, None, None)]);
    let ranking = rank_with(&pool, &unknown, RankSettings::default());
    assert!(!ranking.personalized);
    assert_eq!(ranking.order, pool.server_order());
    assert!(ranking.reason.as_deref().unwrap().contains("item vector"), "{:?}", ranking.reason);

    let no_items = self::pool(json!({ "dim": 3, "items": [] }));
    let ranking = rank_with(&no_items, &unknown, RankSettings::default());
    assert!(ranking.order.is_empty() && !ranking.personalized);
}

#[test]
fn a_recorded_event_changes_the_next_ranking_immediately() {
    let pool = pool(catalogue_pool());
    let mut history = history_of(&[("shoes-1", EventKind::View, None, None)]);
    assert!(rank_with(&pool, &history, RankSettings::default()).order[0].starts_with("shoes"));
    for item in ["garden-1", "garden-2", "garden-3"] {
        let input = EventInput { kind: Some(EventKind::Cart), item: Some(item.into()), timestamp: Some(NOW), ..Default::default() };
        block_on(history.record(input, NOW)).unwrap();
    }
    assert!(rank_with(&pool, &history, RankSettings::default()).order[0].starts_with("garden"));
}

#[test]
fn malformed_pools_are_rejected_naming_the_problem() {
    let cases = [
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0] }, { "id": "a", "vector": [0, 1] }] }), "items[1].id"),
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0, 0] }] }), "items[0].vector"),
        (json!({ "dim": 2, "items": [{ "id": "", "vector": [1, 0] }] }), "items[0].id"),
        (json!({ "dim": 2, "items": [{ "id": "a" }] }), "items[0].vector"),
        (json!({ "dim": 0, "items": [] }), "dim"),
        (json!({ "dim": 2.5, "items": [] }), "dim"),
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0], "pinned": 0 }, { "id": "b", "vector": [0, 1], "pinned": 0 }] }), "items[1].pinned"),
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0], "pinned": -1 }] }), "items[0].pinned"),
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0], "price": -3 }] }), "items[0].price"),
        (json!({ "dim": 2, "items": [{ "id": "a" }], "vectors": [1, 0, 0] }), "vectors"),
        (json!({ "dim": 2, "items": [{ "id": "a", "vector": "!!notbase64" }] }), "items[0].vector"),
    ];
    for (value, field) in cases {
        let message = pool_error(value.clone());
        assert!(message.starts_with(&format!("{field} |")), "{value}: {message}");
    }
    // Non-finite values cannot be written in JSON; build them directly.
    let mut input: PoolInput = serde_json::from_value(json!({ "dim": 2, "items": [{ "id": "a", "vector": [1, 0] }] })).unwrap();
    input.items[0].vector = Some(localrank_core::pool::VectorInput::Values(vec![1.0, f32::NAN]));
    assert_eq!(CandidatePool::from_input(input.clone()).unwrap_err().field(), Some("items[0].vector[1]"));
    input.items[0].vector = Some(localrank_core::pool::VectorInput::Values(vec![1.0, 0.0]));
    input.items[0].score = Some(f64::INFINITY);
    assert_eq!(CandidatePool::from_input(input).unwrap_err().field(), Some("items[0].score"));
    // The size limit.
    let many: Vec<_> = (0..50_001).map(|i| json!({ "id": format!("i{i}") })).collect();
    let message = pool_error(json!({ "dim": 1, "items": many, "vectors": vec![1.0; 50_001] }));
    assert!(message.starts_with("items |"), "{message}");
}

#[test]
fn a_pool_level_matrix_and_encoded_vectors_are_accepted() {
    let from_matrix = pool(json!({ "dim": 2, "items": [{ "id": "a" }, { "id": "b" }], "vectors": [1, 0, 0, 1] }));
    assert_eq!(from_matrix.vector(1), &[0.0, 1.0]);
    let encoded = pool(json!({ "dim": 2, "items": [
        { "id": "f32", "vector": "AACAPwAAAAA=" },
        { "id": "i8", "vector": { "base64": "AgA=", "dtype": "int8", "scale": 0.5 } },
        { "id": "f16", "vector": { "base64": "ADwAwA==", "dtype": "f16" } }
    ] }));
    assert_eq!(encoded.vector(0), &[1.0, 0.0]);
    assert_eq!(encoded.vector(1), &[1.0, 0.0]);
    assert_eq!(encoded.vector(2), &[1.0, -2.0]);
}

#[test]
fn events_on_ranked_items_pick_up_their_vectors_from_the_pool() {
    let pool = std::rc::Rc::new(pool(catalogue_pool()));
    let mut history = history_of(&[("books-1", EventKind::View, None, None)]);
    block_on(history.remember_pool(pool.clone())).unwrap();
    // books-1 was in history and in the pool: its vector is now persisted.
    assert_eq!(history.vectors().get("books-1").map(|c| c.vector.clone()), Some(pool.vector(pool.position("books-1").unwrap()).to_vec()));
    // A click on a homepage tile carries no vector; the engine takes it (and the category) from the pool.
    let click = EventInput { kind: Some(EventKind::Click), item: Some("garden-2".into()), timestamp: Some(NOW), ..Default::default() };
    let stored = block_on(history.record(click, NOW)).unwrap();
    assert_eq!(stored.category.as_deref(), Some("garden"));
    assert!(history.vectors().get("garden-2").is_some());
    // A pool in a new item space (another model) replaces the cached vectors.
    let new_space = std::rc::Rc::new(self::pool(json!({ "dim": 2, "items": [{ "id": "books-1", "vector": [0.0, 1.0] }] })));
    block_on(history.remember_pool(new_space)).unwrap();
    assert_eq!(history.vectors().dim(), Some(2));
    assert_eq!(history.vectors().len(), 1);
    let reopened = block_on(History::open(history.into_store(), &OpenOptions::default(), NOW)).unwrap();
    assert_eq!(reopened.vectors().dim(), Some(2), "the new dimension is persisted");
    assert_eq!(reopened.vectors().len(), 1);
}

#[test]
fn remembering_the_same_pool_again_checks_only_what_is_new() {
    let pool = std::rc::Rc::new(pool(catalogue_pool()));
    let mut history = history_of(&[("books-1", EventKind::View, None, None)]);
    assert!(block_on(history.remember_pool(pool.clone())).unwrap(), "books-1's vector was written");
    assert!(!block_on(history.remember_pool(pool.clone())).unwrap(), "nothing new to write");
    // The cache loses its vectors (another item space came and went): the same pool object,
    // ranked again, puts every history item back, not only the newest events'.
    block_on(history.cache_vectors(vec![("elsewhere".into(), vec![1.0], None)])).unwrap();
    assert!(history.vectors().get("books-1").is_none());
    let click = EventInput { kind: Some(EventKind::Click), item: Some("garden-2".into()), timestamp: Some(NOW), ..Default::default() };
    block_on(history.record(click, NOW)).unwrap();
    assert!(block_on(history.remember_pool(pool.clone())).unwrap());
    assert_eq!(history.vectors().get("books-1").map(|c| c.vector.clone()), Some(pool.vector(pool.position("books-1").unwrap()).to_vec()));
    assert!(history.vectors().get("garden-2").is_some());
}

#[test]
fn a_history_item_the_cache_evicted_is_cached_again_by_the_same_pool() {
    let pool = std::rc::Rc::new(pool(catalogue_pool()));
    let options = OpenOptions { max_cached_vectors: Some(2.0), ..OpenOptions::default() };
    let mut history = block_on(History::open(MemoryStore::new(), &options, NOW)).unwrap();
    let view = |item: &str, t: f64, vector: Option<Vec<f32>>| EventInput { kind: Some(EventKind::View), item: Some(item.into()), timestamp: Some(t), vector, ..Default::default() };
    block_on(history.record(view("books-1", NOW - 100.0, None), NOW)).unwrap();
    block_on(history.remember_pool(pool.clone())).unwrap();
    assert!(history.vectors().get("books-1").is_some());
    // Two events on items outside the pool, with their own vectors, fill the 2-entry cache.
    block_on(history.record(view("x-1", NOW - 50.0, Some(vec![0.3, 0.2, 0.1])), NOW)).unwrap();
    block_on(history.record(view("x-2", NOW - 40.0, Some(vec![0.1, 0.2, 0.3])), NOW)).unwrap();
    assert!(history.vectors().get("books-1").is_none(), "evicted");
    block_on(history.remember_pool(pool.clone())).unwrap();
    assert!(history.vectors().get("books-1").is_some(), "the same pool, ranked again, puts it back");
}

#[test]
fn a_50000_item_pool_ranks_and_keeps_every_item() {
    let n = 50_000;
    let dim = 8;
    let vectors: Vec<f32> = (0..n * dim).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    let items: Vec<_> = (0..n).map(|i| json!({ "id": format!("sku-{i}"), "category": format!("c{}", i % 9) })).collect();
    let pool = pool(json!({ "dim": dim, "items": items, "vectors": vectors }));
    let history = history_of(&[("sku-17", EventKind::View, None, None), ("sku-4242", EventKind::Cart, None, None)]);
    let ranking = rank_with(&pool, &history, RankSettings::default());
    assert!(ranking.personalized);
    assert_eq!(ranking.order.len(), n);
    let unique: std::collections::HashSet<_> = ranking.order.iter().collect();
    assert_eq!(unique.len(), n);
    assert!(ranking.items.iter().filter(|i| i.because.is_some()).count() <= 100, "explanations stay bounded");
}

#[test]
fn the_neighbour_part_finds_items_like_one_history_item_that_the_intent_averages_away() {
    // Two history items along x and y; a model intent along z (it summarises them badly). The
    // candidate "near-x" is like one history item, "diagonal" like both, "far" like neither.
    let pool = pool(json!({ "dim": 3, "items": [
        { "id": "far", "vector": [0.0, -1.0, 1.0], "score": 4 },
        { "id": "z", "vector": [0.0, 0.0, 1.0], "score": 3 },
        { "id": "near-x", "vector": [1.0, 0.05, 0.1], "score": 2 },
        { "id": "diagonal", "vector": [1.0, 1.0, 0.0], "score": 1 },
        { "id": "seen-x", "vector": [1.0, 0.0, 0.0], "score": 0 },
    ]}));
    let history = history_of(&[("seen-x", EventKind::View, None, None), ("seen-y", EventKind::View, Some(vec![0.0, 1.0, 0.0]), None)]);
    let cache = history.vectors();
    let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
    let intent = || ModelIntent { vector: vec![0.0, 0.0, 1.0], scores: None, backend: Backend::Cpu, fallback: None, version: "t".into(), blend: None, blend_neighbours: None, repeat: None, repeat_scorer: None };
    let with = |neighbour: f64, all_parts: bool| {
        let weights = BlendWeightsInput { server: Some(0.0), affinity: Some(0.0), neighbour: Some(neighbour), ..Default::default() };
        let settings = RankOptions { weights: Some(weights), diversity: Some(1.0), ..Default::default() }.resolve(RankSettings { all_parts, ..RankSettings::default() }).unwrap();
        rank::rank(&pool, history.events(), &lookup, Some(intent()), &settings)
    };

    // Weight 0: not computed (0 in every item's parts), the intent alone orders the pool.
    let plain = with(0.0, false);
    assert!(plain.items.iter().all(|i| i.parts.neighbour == 0.0));
    assert_eq!(order(&plain)[0], "z");
    // Computed on request for every item, each in [0, 1]; an item is no neighbour of itself.
    let parts = with(0.0, true);
    let part = |id: &str| parts.items.iter().find(|i| i.id == id).map(|i| i.parts.neighbour).unwrap();
    assert!(parts.items.iter().all(|i| (0.0..=1.0).contains(&i.parts.neighbour)), "{:?}", parts.items);
    assert!(part("diagonal") > part("near-x") && part("near-x") > part("z"), "{:?}", parts.items);
    assert_eq!(part("far"), 0.0, "dissimilar history counts as nothing, never negative");
    // seen-x only compares with seen-y (orthogonal): itself does not count.
    assert_eq!(part("seen-x"), 0.0);
    assert_eq!(order(&parts), order(&plain), "computing a part with weight 0 changes no order");
    // With weight, the neighbours rise above the intent's favourite; the weights are reported.
    let boosted = with(4.0, false);
    assert_eq!(&order(&boosted)[..2], ["diagonal", "near-x"], "{:?}", boosted.items);
    assert_eq!(boosted.weights.map(|w| w.neighbour), Some(4.0));
}

#[test]
fn a_pool_with_neighbour_lists_ranks_by_co_occurrence_instead_of_the_vectors_cosine() {
    // By vector, "near-x" is like the viewed "seen-x"; by co-occurrence (the lists), "far" is
    // bought with both history items and "near-x" with neither.
    let items = json!([
        { "id": "far", "vector": [0.0, -1.0, 1.0], "score": 3, "neighbours": { "ids": ["seen-x", "seen-y"], "weights": [0.5, 0.25] } },
        { "id": "near-x", "vector": [1.0, 0.05, 0.1], "score": 2, "neighbours": { "ids": ["other"], "weights": [0.9] } },
        { "id": "plain", "vector": [1.0, 0.0, 0.0], "score": 1 },
    ]);
    let with_lists = pool(json!({ "dim": 3, "items": items }));
    let mut without = items.clone();
    without.as_array_mut().unwrap().iter_mut().for_each(|i| {
        i.as_object_mut().unwrap().remove("neighbours");
    });
    let without_lists = pool(json!({ "dim": 3, "items": without }));
    // seen-x purchased (kind weight 4), then seen-y viewed (1): recency 0.917 for seen-x.
    let history = history_of(&[("seen-x", EventKind::Purchase, Some(vec![1.0, 0.0, 0.0]), None), ("seen-y", EventKind::View, Some(vec![0.0, 1.0, 0.0]), None)]);
    let weights = BlendWeightsInput { intent: Some(0.0), server: Some(0.0), affinity: Some(0.0), neighbour: Some(1.0), repeat: None };
    let settings = RankOptions { weights: Some(weights), diversity: Some(1.0), ..Default::default() }.resolve(RankSettings::default()).unwrap();
    let ranked = rank_with(&with_lists, &history, settings);
    let part = |r: &Ranking, id: &str| r.items.iter().find(|i| i.id == id).map(|i| i.parts.neighbour).unwrap();
    let (wx, wy) = (4.0 * 0.917_004_1f32, 1.0f32);
    assert!((part(&ranked, "far") - (wx * 0.5 + wy * 0.25) / (wx + wy)).abs() < 1e-6, "{:?}", ranked.items);
    assert_eq!(part(&ranked, "near-x"), 0.0, "no history item on its list");
    assert_eq!(part(&ranked, "plain"), 0.0, "no list: no known neighbour, not the cosine");
    assert_eq!(order(&ranked)[0], "far");
    // The same pool without lists: the cosine of vectors, where "near-x" and "plain" lead.
    let cosine = rank_with(&without_lists, &history, settings);
    assert_eq!(part(&cosine, "far"), 0.0);
    assert!(part(&cosine, "plain") > 0.5 && part(&cosine, "near-x") > 0.5, "{:?}", cosine.items);
    assert_eq!(order(&cosine)[2], "far");
}

#[test]
fn model_json_blends_written_before_the_neighbour_part_still_load() {
    let old: BlendWeights = serde_json::from_value(json!({ "intent": 1, "server": 0.1, "affinity": 0.1 })).unwrap();
    assert_eq!(old.neighbour, 0.0);
    let bad = BlendWeights { neighbour: -1.0, ..BlendWeights::default() };
    assert_eq!(bad.check().unwrap_err().0, "neighbour");
}

#[test]
fn a_models_neighbour_weight_applies_only_to_the_similarity_it_was_tuned_with() {
    use localrank_core::rank::NeighbourSource;
    let items = json!([
        { "id": "far", "vector": [0.0, -1.0, 1.0], "score": 2, "neighbours": { "ids": ["seen-x"], "weights": [0.5] } },
        { "id": "near-x", "vector": [1.0, 0.05, 0.1], "score": 1 },
    ]);
    let with_lists = pool(json!({ "dim": 3, "items": items }));
    let mut without = items.clone();
    without.as_array_mut().unwrap().iter_mut().for_each(|i| {
        i.as_object_mut().unwrap().remove("neighbours");
    });
    let without_lists = pool(json!({ "dim": 3, "items": without }));
    let history = history_of(&[("seen-x", EventKind::Purchase, Some(vec![1.0, 0.0, 0.0]), None)]);
    let settings = RankOptions { diversity: Some(1.0), ..Default::default() }.resolve(RankSettings::default()).unwrap();
    /// The neighbour weight a ranking used, with a model tuned at neighbour 2 with `source`.
    fn weights(pool: &CandidatePool, history: &History<MemoryStore>, source: Option<NeighbourSource>, settings: &RankSettings) -> Option<f64> {
        let cache = history.vectors();
        let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
        let tuned = BlendWeights { intent: 1.0, server: 0.1, affinity: 0.0, neighbour: 2.0, repeat: 0.0 };
        let intent = ModelIntent { vector: vec![0.0, 0.0, 1.0], scores: None, backend: Backend::Cpu, fallback: None, version: "t".into(), blend: Some(tuned), blend_neighbours: source, repeat: None, repeat_scorer: None };
        rank::rank(pool, history.events(), &lookup, Some(intent), settings).weights.map(|w| w.neighbour)
    }
    let weights = |pool: &CandidatePool, source, settings: &RankSettings| weights(pool, &history, source, settings);
    // Tuned with co-occurrence lists: used with lists, 0 for a pool without them (the cosine).
    assert_eq!(weights(&with_lists, Some(NeighbourSource::Cooccurrence), &settings), Some(2.0));
    assert_eq!(weights(&without_lists, Some(NeighbourSource::Cooccurrence), &settings), Some(0.0));
    // Tuned with the cosine: the other way round; untagged (older) models apply it to either.
    assert_eq!(weights(&with_lists, Some(NeighbourSource::Cosine), &settings), Some(0.0));
    assert_eq!(weights(&without_lists, Some(NeighbourSource::Cosine), &settings), Some(2.0));
    assert_eq!(weights(&without_lists, None, &settings), Some(2.0));
    // A call's own neighbour weight wins whatever the model was tuned with.
    let call = RankOptions { weights: Some(BlendWeightsInput { neighbour: Some(0.7), ..Default::default() }), diversity: Some(1.0), ..Default::default() }
        .resolve(RankSettings::default())
        .unwrap();
    assert_eq!(weights(&without_lists, Some(NeighbourSource::Cooccurrence), &call), Some(0.7));
}

#[test]
fn with_co_occurrence_lists_the_reason_is_the_listed_history_item() {
    // By vector "far" is unlike both history items; its list says shoppers of seen-y use it.
    let pool = pool(json!({ "dim": 3, "items": [
        { "id": "far", "vector": [0.0, -1.0, 1.0], "score": 2, "neighbours": { "ids": ["seen-x", "seen-y"], "weights": [0.01, 0.4] } },
        { "id": "near-x", "vector": [1.0, 0.05, 0.1], "score": 1 },
        { "id": "stranger", "vector": [0.0, 0.0, 1.0], "score": 0, "neighbours": { "ids": ["other"], "weights": [0.9] } },
    ] }));
    let history = history_of(&[("seen-x", EventKind::Purchase, Some(vec![1.0, 0.0, 0.0]), None), ("seen-y", EventKind::View, Some(vec![0.0, 1.0, 0.0]), None)]);
    let ranked = rank_with(&pool, &history, RankSettings::default());
    let because = |id: &str| ranked.items.iter().find(|i| i.id == id).and_then(|i| i.because.clone());
    // seen-x weighs 4×0.917 (a purchase), seen-y 1 (a view): 3.67×0.01 < 1×0.4.
    assert_eq!(because("far").as_deref(), Some("seen-y"));
    assert_eq!(because("stranger"), None, "no history item on its list");
    // An item without a list is explained by the vectors' cosine, as before.
    assert_eq!(because("near-x").as_deref(), Some("seen-x"));
}

/// A grocery pool: staples marked `repeat`, one-off items not; vectors all alike so only the
/// repeat part and the server order separate them.
fn grocery_pool() -> CandidatePool {
    let items: Vec<serde_json::Value> = ["bread", "milk", "coffee", "grill", "apples", "tea"]
        .iter()
        .enumerate()
        .map(|(i, id)| json!({ "id": id, "vector": [1.0, 0.1 * i as f32, 0.0], "score": 100 - i, "repeat": *id != "grill" }))
        .collect();
    pool(json!({ "dim": 3, "items": items }))
}

fn purchases_on(days: &[(&str, f64)]) -> History<MemoryStore> {
    let day = 86_400_000.0;
    let start = NOW - 60.0 * day;
    let mut history = block_on(History::open(MemoryStore::new(), &OpenOptions::default(), NOW)).unwrap();
    for (item, d) in days {
        let input = EventInput { kind: Some(EventKind::Purchase), item: Some(item.to_string()), timestamp: Some(start + d * day), ..Default::default() };
        block_on(history.record(input, NOW)).unwrap();
    }
    history
}

#[test]
fn a_staple_bought_every_week_rises_to_the_top_explained_by_its_rhythm() {
    let pool = grocery_pool();
    // Coffee every 7 days, the last a week ago: due today. Tea once, long ago. The grill once.
    let history = purchases_on(&[("tea", 1.0), ("coffee", 11.0), ("coffee", 18.0), ("coffee", 25.0), ("coffee", 32.0), ("coffee", 39.0), ("coffee", 46.0), ("coffee", 53.0), ("grill", 50.0)]);
    let settings = RankSettings { now_ms: Some(NOW), ..RankSettings::default() };
    let ranking = rank_with(&pool, &history, settings);
    assert!(ranking.personalized, "{:?}", ranking.reason);
    assert_eq!(order(&ranking)[0], "coffee", "{:?}", ranking.items);
    let coffee = &ranking.items[0];
    assert!(coffee.parts.repeat > 0.9, "bought weekly, due now: {:?}", coffee.parts);
    assert_eq!(coffee.because.as_deref(), Some("coffee"));
    assert_eq!(coffee.because_kind, Some(EventKind::Purchase));
    let info = coffee.repeat.expect("the rhythm behind the explanation");
    assert_eq!((info.purchases, info.every_days), (7, Some(7.0)));
    assert!((info.days_since - 7.0).abs() < 1e-3, "{info:?}");
    // Tea, bought once two months ago, gets a little; the grill is not a repeat item and sinks.
    let tea = ranking.items.iter().find(|i| i.id == "tea").unwrap();
    assert!(tea.parts.repeat > 0.0 && tea.parts.repeat < 0.2, "{:?}", tea.parts);
    assert_eq!(*order(&ranking).last().unwrap(), "grill");
    assert_eq!(ranking.items.last().unwrap().parts.repeat, 0.0, "not a repeat item: no repeat part");
    // Without the repeat weight the staple is back among the rest (server order leads).
    let off = RankSettings { weight_overrides: BlendWeightsInput { repeat: Some(0.0), ..Default::default() }, ..settings };
    let ranking = rank_with(&pool, &history, off);
    assert_eq!(order(&ranking)[0], "bread");
    assert!(ranking.items.iter().all(|i| i.repeat.is_none()), "no rhythm explanations when the part does not count");
}

#[test]
fn a_staple_bought_yesterday_is_not_due_and_waits_for_its_interval() {
    let pool = grocery_pool();
    // Milk every 14 days and bought yesterday; apples every 14 days, last 14 days ago.
    let history = purchases_on(&[("milk", 3.0), ("apples", 4.0), ("milk", 17.0), ("apples", 18.0), ("milk", 31.0), ("apples", 32.0), ("apples", 46.0), ("milk", 45.0), ("milk", 59.0)]);
    let due_only = RankSettings { now_ms: Some(NOW), ..RankSettings::default() };
    let ranking = rank_with(&pool, &history, due_only);
    let part = |id: &str| ranking.items.iter().find(|i| i.id == id).unwrap().parts.repeat;
    assert!(part("apples") > part("milk"), "apples due ({}) above milk just bought ({})", part("apples"), part("milk"));
}

#[test]
fn a_pools_rebuy_rate_scales_the_repeat_part_by_the_models_rebuy_mix() {
    // Milk and tea bought on the same two days: the same history, the same part, until the
    // pool says most milk buyers come back (0.9) and few tea buyers do (0.1).
    let items: Vec<serde_json::Value> = [("milk", Some(0.9)), ("tea", Some(0.1)), ("bread", None)]
        .iter()
        .map(|(id, rate)| json!({ "id": id, "vector": [1.0, 0.0, 0.0], "repeat": true, "rebuyRate": rate }))
        .collect();
    let pool = pool(json!({ "dim": 3, "items": items }));
    let history = purchases_on(&[("milk", 10.0), ("tea", 10.0), ("bread", 10.0), ("milk", 40.0), ("tea", 40.0), ("bread", 40.0)]);
    let settings = RankSettings { now_ms: Some(NOW), ..RankSettings::default() };
    let cache = history.vectors();
    let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
    let with = |rebuy_mix: f64| {
        let blend = BlendWeights { intent: 0.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 1.0 };
        let repeat = localrank_core::rank::RepeatParams { rebuy_mix, ..Default::default() };
        let intent = ModelIntent { vector: vec![1.0, 0.0, 0.0], scores: None, backend: Backend::Cpu, fallback: None, version: "t".into(), blend: Some(blend), blend_neighbours: None, repeat: Some(repeat), repeat_scorer: None };
        let r = rank::rank(&pool, history.events(), &lookup, Some(intent), &settings);
        let part = |id: &str| r.items.iter().find(|i| i.id == id).unwrap().parts.repeat;
        (part("milk"), part("tea"), part("bread"))
    };
    let (milk, tea, bread) = with(0.0);
    assert!(milk > 0.0 && milk == tea && tea == bread, "rebuy_mix 0 ignores the rates: {milk} {tea} {bread}");
    let (m, t, b) = with(1.0);
    assert!((m - 0.9 * milk).abs() < 1e-6 && (t - 0.1 * tea).abs() < 1e-6, "scaled by the rate: {m} {t}");
    assert_eq!(b, bread, "an item without a rate is not scaled");
    // The rate is validated with the pool.
    let bad = CandidatePool::from_input(serde_json::from_value(json!({ "dim": 1, "items": [{ "id": "a", "vector": [1.0], "rebuyRate": 1.5 }] })).unwrap());
    assert_eq!(bad.unwrap_err().field(), Some("items[0].rebuyRate"));
}

#[test]
fn a_models_repeat_params_and_weight_apply_and_old_model_json_gets_the_default_weight() {
    let pool = grocery_pool();
    let history = purchases_on(&[("tea", 1.0), ("tea", 30.0)]);
    let settings = RankSettings { now_ms: Some(NOW), ..RankSettings::default() };
    let cache = history.vectors();
    let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
    let with = |repeat: Option<localrank_core::rank::RepeatParams>, weight: f64| {
        let blend = BlendWeights { intent: 1.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: weight };
        let intent = ModelIntent { vector: vec![1.0, 0.0, 0.0], scores: None, backend: Backend::Cpu, fallback: None, version: "t".into(), blend: Some(blend), blend_neighbours: None, repeat, repeat_scorer: None };
        rank::rank(&pool, history.events(), &lookup, Some(intent), &settings)
    };
    let tea = |r: &Ranking| r.items.iter().find(|i| i.id == "tea").unwrap().parts.repeat;
    // Pure due-ness with a huge half-life vs pure frequency: the model's params are the ones used.
    let due = with(Some(localrank_core::rank::RepeatParams { half_life_days: 3650.0, due_mix: 1.0, rebuy_mix: 0.0 }), 1.0);
    let freq = with(Some(localrank_core::rank::RepeatParams { half_life_days: 3650.0, due_mix: 0.0, rebuy_mix: 0.0 }), 1.0);
    assert_eq!(tea(&freq), 1.0);
    assert!(tea(&due) < 1.0 && tea(&due) > 0.0, "{}", tea(&due));
    assert_eq!(order(&with(None, 2.0))[0], "tea", "the model's weight lifts the staple");
    assert_ne!(order(&with(None, 0.0))[0], "tea", "a model tuned to ignore repeats does");
    let old: BlendWeights = serde_json::from_value(json!({ "intent": 1, "server": 0.1, "affinity": 0.1, "neighbour": 0.2 })).unwrap();
    assert_eq!(old.repeat, BlendWeights::default().repeat);
    let bad = BlendWeights { repeat: f64::NAN, ..BlendWeights::default() };
    assert_eq!(bad.check().unwrap_err().0, "repeat");
}

/// A learned repeat scorer whose only input is `feature` (weight `w` on the standardised value).
fn learned_on(feature: &str, w: f32) -> localrank_core::rank::LearnedRepeat {
    use localrank_core::rank::REPEAT_FEATURES;
    let n = REPEAT_FEATURES.len();
    let mut linear = vec![0.0; n];
    linear[REPEAT_FEATURES.iter().position(|f| *f == feature).expect("a feature name")] = w;
    localrank_core::rank::LearnedRepeat {
        features: REPEAT_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        mean: vec![0.0; n],
        scale: vec![1.0; n],
        hidden: vec![],
        hidden_bias: vec![],
        output: vec![],
        linear,
        bias: 0.0,
    }
}

#[test]
fn a_models_learned_repeat_scorer_replaces_the_rule_and_reads_the_pools_rebuy_rate() {
    // Milk bought on four trips, tea on one more recent trip, bread once long ago.
    let items: Vec<serde_json::Value> = [("milk", Some(0.2)), ("tea", Some(0.9)), ("bread", None)]
        .iter()
        .map(|(id, rate)| json!({ "id": id, "vector": [1.0, 0.0, 0.0], "repeat": true, "rebuyRate": rate }))
        .collect();
    let pool = pool(json!({ "dim": 3, "items": items }));
    let history = purchases_on(&[("bread", 1.0), ("milk", 20.0), ("milk", 27.0), ("milk", 34.0), ("milk", 41.0), ("tea", 44.0)]);
    let settings = RankSettings { now_ms: Some(NOW), ..RankSettings::default() };
    let cache = history.vectors();
    let lookup = |id: &str| cache.get(id).map(|c| (c.vector.as_slice(), c.category.as_deref()));
    let with = |scorer: Option<localrank_core::rank::LearnedRepeat>| {
        let blend = BlendWeights { intent: 0.0, server: 0.0, affinity: 0.0, neighbour: 0.0, repeat: 1.0 };
        let intent = ModelIntent { vector: vec![1.0, 0.0, 0.0], scores: None, backend: Backend::Cpu, fallback: None, version: "t".into(), blend: Some(blend), blend_neighbours: None, repeat: None, repeat_scorer: scorer };
        let r = rank::rank(&pool, history.events(), &lookup, Some(intent), &settings);
        let part = |id: &str| r.items.iter().find(|i| i.id == id).unwrap().parts.repeat;
        (part("milk"), part("tea"), part("bread"))
    };
    // By purchase count: milk (4) above tea and bread (1 each); a probability in (0, 1).
    let (milk, tea, bread) = with(Some(learned_on("purchases_log", 3.0)));
    assert!(milk > tea && (tea - bread).abs() < 1e-6 && bread > 0.5 && milk < 1.0, "{milk} {tea} {bread}");
    // By the pool's re-buy rate: tea (0.9) above milk (0.2); bread has none and gets the
    // scorer's mean, 0, so a neutral 0.5.
    let (milk, tea, bread) = with(Some(learned_on("rebuy_rate", 3.0)));
    assert!(tea > milk && milk > bread && (bread - 0.5).abs() < 1e-6, "{milk} {tea} {bread}");
    // By recency: tea (bought on the last trip) above bread.
    let (_, tea, bread) = with(Some(learned_on("in_last_trip", 3.0)));
    assert!(tea > bread, "{tea} {bread}");
    // Without a scorer the rule applies (the default parameters: no model `repeat`).
    let rule = localrank_core::rank::RepeatProfile::from_history(history.events()).scores(["milk"], Some(NOW), &Default::default())[0];
    assert_eq!(with(None).0, rule);
}

#[test]
fn a_learned_repeat_scorer_that_does_not_fit_the_engine_is_refused_naming_the_field() {
    let mut s = learned_on("due", 1.0);
    assert_eq!(s.check(), Ok(()));
    s.features.swap(0, 1);
    assert_eq!(s.check().unwrap_err().0, "features");
    let mut s = learned_on("due", 1.0);
    s.scale[3] = 0.0;
    assert_eq!(s.check().unwrap_err().0, "scale");
    let mut s = learned_on("due", 1.0);
    s.hidden = vec![0.0; 3];
    s.hidden_bias = vec![0.0];
    s.output = vec![1.0];
    assert_eq!(s.check().unwrap_err().0, "hidden");
    let mut s = learned_on("due", 1.0);
    s.linear[0] = f32::NAN;
    assert_eq!(s.check().unwrap_err().0, "linear");
}
