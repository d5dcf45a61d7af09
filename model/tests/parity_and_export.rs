//! The burn Module, the plain reference forward pass (docs/model-format.md in code) and the
//! exported files must all agree.
use burn::module::Module;
use localrank_model::data::{Event, EventKind};
use localrank_model::encoder::make_batch;
use localrank_model::export::{read_model_dir, read_neighbours, round_trip, write_model_dir, ItemStats, Precision};
use localrank_model::reference::{self, HistoryEvent};
use localrank_model::train::history_row;
use localrank_model::{cpu_device, EncoderConfig, ModelWeights};

fn history(items: &[u32], start: i64) -> Vec<Event> {
    items.iter().enumerate().map(|(i, &it)| Event { item: it, kind: (i % EventKind::ALL.len()) as u8, ts: start + (i as i64) * (i as i64) * 900 }).collect()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("localrank-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn burn_forward_matches_reference_forward_with_padding() {
    let cfg = EncoderConfig::tiny(12);
    let w = ModelWeights::random(&cfg, 7).expect("random weights");
    let device = cpu_device();
    let model = w.to_encoder(&device).expect("builds").valid();

    // Two histories in one batch: one shorter than max_len (left padded), one longer (cut).
    let hists = [history(&[3, 1, 4], 1_000), history(&[5, 9, 2, 6, 5, 3, 5, 8, 9], 50_000)];
    let nows = [1_000 + 40_000, 50_000 + 700_000];
    let rows: Vec<_> = hists.iter().zip(nows).map(|(h, now)| history_row(h, now, cfg.max_len)).collect();
    let batch = make_batch(&rows, cfg.max_len);
    let got = model.intents(&batch, &device).into_data().try_to_vec::<f32>().expect("f32");

    let items = &w.tensors["item_vectors"];
    for (b, row) in rows.iter().enumerate() {
        let events: Vec<HistoryEvent> = (0..row.0.len())
            .map(|i| HistoryEvent { item_vector: &items.data[row.0[i] as usize * cfg.dim..(row.0[i] as usize + 1) * cfg.dim], kind: row.1[i] as usize, gap_bucket: row.2[i] })
            .collect();
        let want = reference::intent(&w, &events).expect("reference runs");
        let got_b = &got[b * cfg.dim..(b + 1) * cfg.dim];
        for (g, r) in got_b.iter().zip(&want) {
            assert!((g - r).abs() < 1e-4, "row {b}: burn {got_b:?} vs reference {want:?}");
        }
    }
}

#[test]
fn weights_survive_the_module_round_trip() {
    let cfg = EncoderConfig::tiny(5);
    let w = ModelWeights::random(&cfg, 3).expect("random");
    let back = ModelWeights::from_encoder(&w.to_encoder(&cpu_device()).expect("builds"), &cfg).expect("reads");
    assert_eq!(back, w);
}

#[test]
fn export_files_round_trip_in_every_precision() {
    let cfg = EncoderConfig::tiny(9);
    let w = ModelWeights::random(&cfg, 11).expect("random");
    let ids: Vec<String> = (0..9).map(|i| format!("sku-{i}")).collect();
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("export-{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::json!({"ndcg@10": 0.5}), ItemStats::default()).expect("writes");
        let (back, mj, back_ids) = read_model_dir(&dir).expect("reads");
        assert_eq!(back_ids, ids);
        assert_eq!(mj.config.dtype, p);
        assert_eq!(mj.config.event_kinds, vec!["view", "click", "cart", "purchase", "favorite", "search"]);
        assert_eq!(back, round_trip(&w, p).expect("round trip"), "file and in-memory round trip agree for {p:?}");
        for (name, t) in &w.tensors {
            let b = &back.tensors[name];
            let max_abs = t.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            if p == Precision::Int8 && t.shape.len() == 2 {
                // Per row, the searched scale may clip the largest value by up to 20%, and its
                // squared error is never above that of the plain max|row|/127 scale.
                for (row, back_row) in t.data.chunks(t.shape[1]).zip(b.data.chunks(t.shape[1])) {
                    let m = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let s = m / 127.0;
                    let plain: f32 = row.iter().map(|&x| if s > 0.0 { (x - (x / s).round() * s).powi(2) } else { x * x }).sum();
                    let searched: f32 = row.iter().zip(back_row).map(|(x, y)| (x - y).powi(2)).sum();
                    assert!(searched <= plain * (1.0 + 1e-4) + 1e-12, "{name}: row error {searched} above max-abs scaling's {plain}");
                    for (x, y) in row.iter().zip(back_row) {
                        assert!((x - y).abs() <= m * 0.2 + s * 0.51 + 1e-7, "{name} {p:?}: {x} vs {y}");
                    }
                }
                continue;
            }
            let tol = match p {
                Precision::F32 => 0.0,
                Precision::F16 => max_abs * 1e-3,
                Precision::Int8 => 0.0, // 1-D tensors stay f32
            };
            for (x, y) in t.data.iter().zip(&b.data) {
                assert!((x - y).abs() <= tol, "{name} {p:?}: {x} vs {y}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn rebuy_rates_round_trip_through_the_item_table_in_every_precision() {
    use localrank_core::format::{ItemTable, ItemTableError};
    let cfg = EncoderConfig::tiny(4);
    let w = ModelWeights::random(&cfg, 5).expect("random");
    let ids: Vec<String> = (0..4).map(|i| format!("sku-{i}")).collect();
    let rates = [0.0f32, 0.25, 0.731, 1.0];
    let table = |dir: &std::path::Path| ItemTable::parse(&std::fs::read(dir.join("items.json")).unwrap(), &std::fs::read(dir.join("items.safetensors")).unwrap());
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("rebuy-{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::Value::Null, ItemStats { rebuy_rates: Some(&rates), ..ItemStats::default() }).expect("writes");
        assert_eq!(table(&dir).expect("reads").rebuy_rates.as_deref(), Some(&rates[..]), "{p:?}: F32 in every precision");
        read_model_dir(&dir).expect("the model reads back as before");
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::Value::Null, ItemStats::default()).expect("writes");
        assert_eq!(table(&dir).expect("reads").rebuy_rates, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let dir = temp_dir("rebuy-bad");
    assert!(write_model_dir(&dir, &w, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { rebuy_rates: Some(&[0.5, 1.5, 0.0, 0.0]), ..ItemStats::default() }).is_err(), "a rate above 1");
    assert!(write_model_dir(&dir, &w, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { rebuy_rates: Some(&[0.5]), ..ItemStats::default() }).is_err(), "one rate for four items");
    // A table whose rates were damaged after export is refused by name.
    write_model_dir(&dir, &w, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { rebuy_rates: Some(&rates), ..ItemStats::default() }).expect("writes");
    let mut bytes = std::fs::read(dir.join("items.safetensors")).unwrap();
    let stored: Vec<u8> = rates.iter().flat_map(|r| r.to_le_bytes()).collect();
    let at = bytes.windows(stored.len()).position(|b| b == stored.as_slice()).expect("the rates' bytes");
    bytes[at + 12..at + 16].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(dir.join("items.safetensors"), bytes).unwrap();
    assert!(matches!(table(&dir), Err(ItemTableError::RebuyRates(_))), "{:?}", table(&dir).map(|t| t.rebuy_rates));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn neighbour_lists_round_trip_through_the_item_table() {
    let cfg = EncoderConfig::tiny(4);
    let w = ModelWeights::random(&cfg, 5).expect("random");
    let ids: Vec<String> = (0..4).map(|i| format!("sku-{i}")).collect();
    // Lists of different lengths (padded to k = 3), one empty; similarities in 0..=1.
    let lists: Vec<Vec<(u32, f32)>> = vec![vec![(1, 1.0), (3, 0.5), (2, 0.125)], vec![(0, 1.0)], vec![], vec![(0, 0.5), (2, 0.0033)]];
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("neighbours-{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::Value::Null, ItemStats { neighbours: Some(&lists), ..ItemStats::default() }).expect("writes");
        let back = read_neighbours(&dir).expect("reads").expect("has neighbours");
        assert_eq!(back.k, 3);
        for (row, list) in lists.iter().enumerate() {
            let got: Vec<(usize, f32)> = back.of(row).collect();
            assert_eq!(got.len(), list.len(), "{p:?} row {row}: {got:?}");
            // f16 keeps ~3 significant digits; int8's grid per row is max/127, and the searched
            // scale may clip the largest value by up to 20%.
            let max = list.iter().fold(0f32, |m, x| m.max(x.1));
            let tol = match p {
                Precision::F32 => 0.0,
                Precision::F16 => 1e-3,
                Precision::Int8 => max * 0.2 + max / 127.0,
            };
            for (&(j, s), &(gj, gs)) in list.iter().zip(&got) {
                assert_eq!(gj, j as usize);
                assert!((gs - s).abs() <= tol && (0.0..=1.0).contains(&gs), "{p:?} row {row}: {gs} vs {s}");
            }
        }
        // The model files read back as before; without lists the table has none.
        read_model_dir(&dir).expect("reads");
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::Value::Null, ItemStats::default()).expect("writes");
        assert_eq!(read_neighbours(&dir).expect("reads"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A list naming a row outside the table is refused.
    let dir = temp_dir("neighbours-bad");
    assert!(write_model_dir(&dir, &w, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { neighbours: Some(&[vec![(4, 0.5)], vec![], vec![], vec![]]), ..ItemStats::default() }).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_or_mismatched_files_are_rejected() {
    let cfg = EncoderConfig::tiny(4);
    let w = ModelWeights::random(&cfg, 1).expect("random");
    let dir = temp_dir("corrupt");
    let short_ids = vec!["a".to_string()];
    assert!(write_model_dir(&dir, &w, &short_ids, Precision::F32, "x", serde_json::Value::Null, ItemStats::default()).is_err());
    let ids: Vec<String> = (0..4).map(|i| i.to_string()).collect();
    write_model_dir(&dir, &w, &ids, Precision::F32, "x", serde_json::Value::Null, ItemStats::default()).expect("writes");
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").expect("overwrite");
    let err = read_model_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_only_rows_are_the_towers_vectors_of_their_text_in_every_precision() {
    use localrank_core::format::ItemTable;
    use localrank_core::model::{TextTower as EngineTower, TextTowerConfig, TEXT_EMBEDDING, TEXT_PROJ_BIAS, TEXT_PROJ_WEIGHT};
    use localrank_model::data::ItemText;
    use localrank_model::export::{read_text_only, text_only_items};
    let tower_cfg = TextTowerConfig { buckets: 97, min_n: 3, max_n: 4, dim: 6 };
    let cfg = EncoderConfig { text: Some(tower_cfg), ..EncoderConfig::tiny(4) };
    let w = ModelWeights::random(&cfg, 9).expect("random");
    let ids: Vec<String> = (0..4).map(|i| format!("sku-{i}")).collect();
    let text = |title: &str, category: &str| ItemText { title: Some(title.into()), category: Some(category.into()), ..ItemText::default() };
    let texts = vec![
        ("new-oat".to_string(), text("Oat drink, 1 l", "Dairy Milk")),
        ("new-bread".to_string(), text("Sourdough loaf", "Bakery Bread")),
        ("no-words".to_string(), text("---", "!!")),
    ];
    let extra = text_only_items(&w, &texts).expect("embeds");
    assert_eq!(extra.ids, ["new-oat", "new-bread"], "a text with no word to hash gets no row");
    // What the browser computes for the same text: the engine's own tower over these weights.
    let engine = EngineTower::new(tower_cfg, cfg.dim, w.tensors[TEXT_EMBEDDING].data.clone(), w.tensors[TEXT_PROJ_WEIGHT].data.clone(), w.tensors[TEXT_PROJ_BIAS].data.clone()).expect("tower");
    let want: Vec<Vec<f32>> = texts[..2].iter().map(|(_, t)| engine.embed("text", &t.joined()).expect("embeds")).collect();
    for (k, v) in want.iter().enumerate() {
        let got = &extra.vectors[k * cfg.dim..(k + 1) * cfg.dim];
        assert!(got.iter().zip(v).all(|(a, b)| (a - b).abs() < 1e-5), "row {k}: trainer {got:?} vs engine {v:?}");
        assert!(v.iter().any(|x| x.abs() > 1e-3), "a real vector, not zeros");
    }
    let lists: Vec<Vec<(u32, f32)>> = vec![vec![(1, 1.0)], vec![(0, 1.0)], vec![], vec![]];
    let rates = [0.5f32; 4];
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = temp_dir(&format!("text-only-{p:?}"));
        write_model_dir(&dir, &w, &ids, p, "unit", serde_json::Value::Null, ItemStats { neighbours: Some(&lists), rebuy_rates: Some(&rates), text_only: Some(&extra) }).expect("writes");
        let table = ItemTable::parse(&std::fs::read(dir.join("items.json")).unwrap(), &std::fs::read(dir.join("items.safetensors")).unwrap()).expect("the service's reader takes it");
        assert_eq!((table.len(), table.learned), (6, 4));
        assert_eq!(&table.ids[4..], ["new-oat", "new-bread"]);
        assert_eq!(table.neighbours.as_ref().expect("lists").of(0).collect::<Vec<_>>().len(), 1);
        assert_eq!((table.rebuy_rate(3), table.rebuy_rate(4)), (Some(0.5), None), "rates cover the learned rows");
        for (k, v) in want.iter().enumerate() {
            let got = table.vector(4 + k);
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            // f16: ~3 significant digits; int8: the row's grid (max/127), and the searched scale
            // may clip the largest value by up to 20%.
            let tol = match p {
                Precision::F32 => 1e-5,
                Precision::F16 => max * 1e-3,
                Precision::Int8 => max * 0.2 + max / 127.0 * 0.51 + 1e-6,
            };
            assert!(got.iter().zip(v).all(|(a, b)| (a - b).abs() <= tol), "{p:?} row {k}: {got:?} vs {v:?}");
        }
        // The model reads back with its learned rows only; the text-only rows on their own.
        let (back, _, back_ids) = read_model_dir(&dir).expect("reads");
        assert_eq!(back_ids, ids);
        assert_eq!(back, round_trip(&w, p).expect("round trip"));
        assert_eq!(read_text_only(&dir).expect("reads").ids, extra.ids);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Text-only rows need a tower; an id may not be both learned and text-only.
    let dir = temp_dir("text-only-bad");
    let plain = ModelWeights::random(&EncoderConfig::tiny(4), 9).expect("random");
    let err = write_model_dir(&dir, &plain, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { text_only: Some(&extra), ..ItemStats::default() }).unwrap_err();
    assert!(err.to_string().contains("without a text tower"), "{err}");
    assert!(text_only_items(&plain, &texts).unwrap_err().to_string().contains("no text tower"));
    let mut clash = extra.clone();
    clash.ids[1] = "sku-2".into();
    let err = write_model_dir(&dir, &w, &ids, Precision::F32, "unit", serde_json::Value::Null, ItemStats { text_only: Some(&clash), ..ItemStats::default() }).unwrap_err();
    assert!(err.to_string().contains("\"sku-2\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
