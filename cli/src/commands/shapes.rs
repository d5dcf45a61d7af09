//! `localrank data shapes`: a reproducible set of store logs of different shapes, written as
//! the CSV a store would hand to `localrank train --dataset log.csv`. They check that the one
//! no-flag procedure (derive settings from the data, tune on validation) holds up beyond the
//! two built-in data sets. Everything is seeded; the same raw data gives the same files.
//!
//! - `ml-long`: up to 500 MovieLens-100k users with 100+ ratings (long histories).
//! - `ml-short`: 800 other MovieLens users, each cut to their first 25 ratings (short histories).
//! - `cj-first`: 600 Complete Journey households, first purchase of each product only, each
//!   household's first 80 such purchases (a small grocery log; 5-core is applied by `prepare`).
//! - `synthetic-large`: 1,500 generated shoppers over a 9,000-item catalogue (topics with
//!   sequential structure), large enough that training uses the sampled softmax.
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use localrank_model::data::readers::{self, RawEvent, RawLog, RowFields};
use localrank_model::data::synth::{Rng, TopicWalk, ITEMS_PER_TOPIC};

use crate::error::{io_err, CliError};
use crate::fetch;
use crate::paths::Paths;

#[derive(Args, Debug, Clone)]
pub struct ShapesArgs {
    /// Folder for the CSV files [default: <cache>/shapes]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed for the user samples and the synthetic log
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
}

/// Per user, events in time order (ties keep file order).
fn by_user(log: &RawLog) -> BTreeMap<&str, Vec<&RawEvent>> {
    let mut m: BTreeMap<&str, Vec<&RawEvent>> = BTreeMap::new();
    for e in &log.events {
        m.entry(log.user_name(e)).or_default().push(e);
    }
    for v in m.values_mut() {
        v.sort_by_key(|e| e.timestamp);
    }
    m
}

fn csv(log: &RawLog, events: &[&RawEvent]) -> String {
    let mut s = String::from("user,item,timestamp,kind,category,price\n");
    for e in events {
        let cat = log.item_category[e.item as usize].as_deref().unwrap_or("").replace([',', '"', '\n'], " ");
        let price = e.price().map(|p| format!("{p:.2}")).unwrap_or_default();
        let _ = writeln!(s, "{},{},{},{},{},{}", log.user_name(e), log.item_name(e), e.timestamp, e.kind.as_str(), cat, price);
    }
    s
}

pub fn run(paths: &Paths, a: &ShapesArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let out = a.out.clone().unwrap_or_else(|| paths.cache.join("shapes"));
    std::fs::create_dir_all(&out).map_err(io_err(&out))?;
    if !paths.ml100k_inter().exists() || !paths.cj_dir().join("transactions.parquet").exists() {
        log("raw data missing: fetching first");
        fetch::fetch_all(&paths.cache, log)?;
    }
    let write = |name: &str, raw: &RawLog, events: Vec<&RawEvent>, log: &mut dyn FnMut(&str)| -> Result<(), CliError> {
        let p = out.join(format!("{name}.csv"));
        let users: HashSet<u32> = events.iter().map(|e| e.user).collect();
        let items: HashSet<u32> = events.iter().map(|e| e.item).collect();
        std::fs::write(&p, csv(raw, &events)).map_err(io_err(&p))?;
        log(&format!("{}: {} users, {} items, {} events (before 5-core)", p.display(), users.len(), items.len(), events.len()));
        Ok(())
    };

    let ml = readers::read_ml100k(&paths.ml100k_inter())?;
    let users = by_user(&ml);
    let mut long: Vec<&str> = users.iter().filter(|(_, v)| v.len() >= 100).map(|(u, _)| *u).collect();
    let mut rng = Rng::new(a.seed);
    rng.shuffle(&mut long);
    long.truncate(500);
    let long_set: HashSet<&str> = long.iter().copied().collect();
    let mut rest: Vec<&str> = users.keys().copied().filter(|u| !long_set.contains(u)).collect();
    rng.shuffle(&mut rest);
    rest.truncate(800);
    long.sort_unstable();
    rest.sort_unstable();
    write("ml-long", &ml, long.iter().flat_map(|u| users[u].iter().copied()).collect(), log)?;
    write("ml-short", &ml, rest.iter().flat_map(|u| users[u].iter().take(25).copied()).collect(), log)?;

    let cj = readers::read_complete_journey(&paths.cj_dir().join("transactions.parquet"), &paths.cj_dir().join("products.parquet"))?;
    let households = by_user(&cj);
    let mut ids: Vec<&str> = households.keys().copied().collect();
    rng.shuffle(&mut ids);
    ids.truncate(600);
    ids.sort_unstable();
    let mut grocery = Vec::new();
    for u in &ids {
        let mut seen = HashSet::new();
        grocery.extend(households[u].iter().copied().filter(|e| seen.insert(e.item)).take(80));
    }
    write("cj-first", &cj, grocery, log)?;

    let synthetic = synthetic_log(&mut Rng::new(a.seed ^ 0x5EED));
    write("synthetic-large", &synthetic, synthetic.events.iter().collect(), log)?;
    Ok(())
}

/// 1,500 shoppers, 9,000 items in 300 topics of 30. Each shopper likes 4 topics; the next
/// event stays in the current topic with probability 0.8, and within a topic it follows the
/// topic's item order (the next 1–3 items) half of the time. A shopper buys each item once
/// (draws of an item already bought are skipped), 40–200 draws each.
fn synthetic_log(rng: &mut Rng) -> RawLog {
    let (users, topics) = (1500, 300);
    let mut events = RawLog::default();
    for u in 0..users {
        let liked: Vec<usize> = (0..4).map(|_| rng.below(topics)).collect();
        let draws = 40 + rng.below(161);
        let start = rng.below(ITEMS_PER_TOPIC);
        let mut walk = TopicWalk::new(liked, start);
        let mut ts = 1_700_000_000 + rng.below(86_400 * 30) as i64;
        let mut bought = HashSet::new();
        for _ in 0..draws {
            let item = walk.step(rng);
            let topic = item / ITEMS_PER_TOPIC;
            ts += 60 + rng.below(86_400) as i64;
            if !bought.insert(item) {
                continue;
            }
            events.push(RowFields {
                user: &format!("s{u:04}"),
                item: &format!("p{item:05}"),
                timestamp: ts,
                kind: localrank_model::data::EventKind::Purchase,
                category: Some(&format!("topic{topic}")),
                price: None,
                basket: None,
            });
        }
    }
    events
}
