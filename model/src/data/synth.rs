//! A seeded synthetic store log of any size, written as a folder of Parquet part files the way
//! Spark or DuckDB write one: for measuring `data prepare` and training at scale (a 20M-event
//! log, a 50,000-item catalogue) without a real store's data. Same seed, same files.
//!
//! Shape: items come in topics of [`ITEMS_PER_TOPIC`]; each shopper likes three topics; the
//! next event stays in the current topic with probability 0.8 and then half of the time moves
//! to one of the next three items of the topic (sequential structure a model can learn); one
//! event in ten is a draw from a global Zipf popularity. Kinds: 70% view, 15% click, 10% cart,
//! 5% purchase. History lengths are spread between 5 and 4× the mean.
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use localrank_core::model::fixture::SplitMix;

use super::event_kind::EventKind;
use crate::error::{io_err, ModelError, Result};

pub const ITEMS_PER_TOPIC: usize = 30;

/// Rows per Parquet row group: bounds the writer's (and a reader's) buffer.
const ROWS_PER_GROUP: usize = 500_000;

/// The project's seeded generator (core's SplitMix64) with the draws sampling needs.
pub struct Rng(SplitMix);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// A shopper's walk through the topics they like (topics of [`ITEMS_PER_TOPIC`] items): the
/// next item stays in the current topic with probability 0.8, and then half of the time it is
/// one of the topic's next three items (the sequential structure a model can learn), else any
/// item of the topic; otherwise the walk jumps to a random item of a random liked topic.
pub struct TopicWalk {
    liked: Vec<usize>,
    topic: usize,
    pos: usize,
}

impl TopicWalk {
    /// Starts in the first liked topic at position `start`.
    pub fn new(liked: Vec<usize>, start: usize) -> TopicWalk {
        TopicWalk { topic: liked[0], liked, pos: start }
    }

    /// The next item's index (topic × ITEMS_PER_TOPIC + position).
    pub fn step(&mut self, rng: &mut Rng) -> usize {
        if rng.unit() > 0.8 {
            self.topic = self.liked[rng.below(self.liked.len())];
            self.pos = rng.below(ITEMS_PER_TOPIC);
        } else if rng.unit() < 0.5 {
            self.pos = (self.pos + 1 + rng.below(3)) % ITEMS_PER_TOPIC;
        } else {
            self.pos = rng.below(ITEMS_PER_TOPIC);
        }
        self.topic * ITEMS_PER_TOPIC + self.pos
    }
}

#[derive(Debug, Clone)]
pub struct SynthSpec {
    pub events: usize,
    pub items: usize,
    pub mean_history: usize,
    pub parts: usize,
    pub seed: u64,
}

/// What [`write_parquet_parts`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    pub users: usize,
    pub events: usize,
    pub parts: usize,
}

/// One column batch of a row group.
#[derive(Default)]
struct Batch {
    user: Vec<ByteArray>,
    item: Vec<ByteArray>,
    kind: Vec<ByteArray>,
    ts_ms: Vec<i64>,
}

impl Batch {
    fn len(&self) -> usize {
        self.ts_ms.len()
    }
}

fn write_group(writer: &mut SerializedFileWriter<File>, b: &mut Batch, path: &Path) -> Result<()> {
    let err = |e: parquet::errors::ParquetError| ModelError::Parquet { path: path.to_path_buf(), message: e.to_string() };
    let mut rg = writer.next_row_group().map_err(err)?;
    for col in [&b.user, &b.item, &b.kind] {
        let mut w = rg.next_column().map_err(err)?.ok_or_else(|| err(parquet::errors::ParquetError::General("schema has fewer columns".into())))?;
        w.typed::<ByteArrayType>().write_batch(col, None, None).map_err(err)?;
        w.close().map_err(err)?;
    }
    let mut w = rg.next_column().map_err(err)?.ok_or_else(|| err(parquet::errors::ParquetError::General("schema has fewer columns".into())))?;
    w.typed::<Int64Type>().write_batch(&b.ts_ms, None, None).map_err(err)?;
    w.close().map_err(err)?;
    rg.close().map_err(err)?;
    *b = Batch::default();
    Ok(())
}

/// Writes `spec.events` events into `spec.parts` files `part-NNNNN.parquet` in `dir` (columns
/// user, item, kind as text and timestamp as TIMESTAMP(MILLIS)), plus Spark's `_SUCCESS`
/// marker. Memory: one row group.
pub fn write_parquet_parts(dir: &Path, spec: &SynthSpec) -> Result<SynthSummary> {
    if spec.items < ITEMS_PER_TOPIC || spec.events == 0 || spec.parts == 0 || spec.mean_history < 5 {
        return Err(ModelError::BadConfig(format!("synthetic log: need items ≥ {ITEMS_PER_TOPIC}, events ≥ 1, parts ≥ 1 and a mean history ≥ 5")));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let schema = Arc::new(
        parse_message_type("message log { REQUIRED BINARY user (UTF8); REQUIRED BINARY item (UTF8); REQUIRED BINARY kind (UTF8); REQUIRED INT64 timestamp (TIMESTAMP(MILLIS,true)); }")
            .map_err(|e| ModelError::BadConfig(e.to_string()))?,
    );
    let topics = spec.items / ITEMS_PER_TOPIC;
    let mut rng = Rng::new(spec.seed);
    // Zipf(1) over the catalogue by inverse CDF on a precomputed cumulative table.
    let mut cumulative = Vec::with_capacity(spec.items);
    let mut total = 0.0f64;
    for r in 0..spec.items {
        total += 1.0 / (r + 1) as f64;
        cumulative.push(total);
    }
    let mut popular: Vec<usize> = (0..spec.items).collect();
    rng.shuffle(&mut popular);
    let kinds = [(0.70, EventKind::View), (0.85, EventKind::Click), (0.95, EventKind::Cart), (1.01, EventKind::Purchase)];
    let per_part = spec.events.div_ceil(spec.parts);
    let (mut written, mut users, mut part) = (0usize, 0usize, 0usize);
    while written < spec.events {
        let path = dir.join(format!("part-{part:05}.parquet"));
        let file = File::create(&path).map_err(io_err(&path))?;
        let mut writer = SerializedFileWriter::new(file, schema.clone(), Arc::new(WriterProperties::builder().build()))
            .map_err(|e| ModelError::Parquet { path: path.clone(), message: e.to_string() })?;
        let mut batch = Batch::default();
        let part_end = (written + per_part).min(spec.events);
        while written < part_end {
            // One shopper: 5 ..= 4 × mean events, mean ≈ spec.mean_history.
            let len = (5 + rng.below(2 * (spec.mean_history - 4))).min(part_end - written);
            let user: ByteArray = format!("u{users:07}").as_str().into();
            users += 1;
            let liked: Vec<usize> = (0..3).map(|_| rng.below(topics)).collect();
            let start = rng.below(ITEMS_PER_TOPIC);
            let mut walk = TopicWalk::new(liked, start);
            let mut ts_ms = 1_700_000_000_000 + rng.below(365 * 86_400) as i64 * 1000;
            for _ in 0..len {
                let item = if rng.unit() < 0.1 {
                    let u = rng.unit() * total;
                    popular[cumulative.partition_point(|&c| c < u).min(spec.items - 1)]
                } else {
                    walk.step(&mut rng)
                };
                ts_ms += (30 + rng.below(2 * 86_400)) as i64 * 1000;
                let draw = rng.unit();
                let kind = kinds.iter().find(|(p, _)| draw < *p).map_or(EventKind::View, |&(_, k)| k);
                batch.user.push(user.clone());
                batch.item.push(format!("p{item:06}").as_str().into());
                batch.kind.push(kind.as_str().into());
                batch.ts_ms.push(ts_ms);
                written += 1;
            }
            if batch.len() >= ROWS_PER_GROUP {
                write_group(&mut writer, &mut batch, &path)?;
            }
        }
        if batch.len() > 0 {
            write_group(&mut writer, &mut batch, &path)?;
        }
        writer.close().map_err(|e| ModelError::Parquet { path: path.clone(), message: e.to_string() })?;
        part += 1;
    }
    let marker = dir.join("_SUCCESS");
    std::fs::write(&marker, b"").map_err(io_err(&marker))?;
    Ok(SynthSummary { users, events: written, parts: part })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{prepare, readers, PrepareOptions};

    #[test]
    fn a_synthetic_part_folder_reads_back_and_prepares() {
        let dir = std::env::temp_dir().join(format!("localrank-synth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spec = SynthSpec { events: 6_000, items: 300, mean_history: 20, parts: 3, seed: 7 };
        let summary = write_parquet_parts(&dir, &spec).expect("writes");
        assert_eq!((summary.events, summary.parts), (6_000, 3));
        let log = readers::read_store_log(&dir, EventKind::Purchase).expect("reads the folder");
        assert_eq!((log.events.len(), log.malformed_rows, log.users.len()), (6_000, 0, summary.users));
        assert!(log.events.iter().any(|e| e.kind == EventKind::View) && log.events.iter().any(|e| e.kind == EventKind::Purchase));
        // TIMESTAMP(MILLIS) arrives as epoch seconds.
        assert!(log.events.iter().all(|e| (1_700_000_000..1_800_000_000).contains(&e.timestamp)));
        let ds = prepare("synth", &log, &PrepareOptions::default()).expect("prepares");
        assert!(ds.num_users() > 200 && ds.num_items() > 200, "{} users, {} items", ds.num_users(), ds.num_items());
        // Same seed, same files.
        let again = dir.join("again");
        write_parquet_parts(&again, &spec).expect("writes");
        assert_eq!(std::fs::read(dir.join("part-00001.parquet")).expect("part"), std::fs::read(again.join("part-00001.parquet")).expect("part"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
