//! Ranking the homepage: cosine relevance against the shopper's intent, blended with the
//! server's score and category affinity, diversified (MMR), with slot rules and explanations.
//!
//! The pipeline, for a valid pool:
//! 1. resolve the recent history steps and their item vectors ([`signals`]);
//! 2. the intent vector: the model's (when one is loaded) or the history's weighted mean;
//! 3. score = w·intent + w·server + w·affinity + w·neighbour + w·repeat ([`options::BlendWeights`]);
//!    the repeat part ([`repeat`]) lifts `repeat` items the shopper is due to buy again;
//! 4. already-bought items (unless `repeat`) sink below the rest; unavailable ones drop;
//! 5. MMR diversifies the leading slots ([`mmr`]);
//! 6. pinned and sponsored items take their fixed slots ([`slots`]);
//! 7. each item names the history item that contributed most ("because you viewed …"), or,
//!    for a staple the shopper buys again, its purchase rhythm ("you buy this every 2 weeks").
//!
//! Whenever personalization is impossible the result is the server's order with the reason.

pub mod mmr;
pub mod neighbours;
pub mod options;
pub mod repeat;
pub mod repeat_learned;
pub mod score;
pub mod signals;
mod slots;

use serde::Serialize;
#[cfg(feature = "tsify")]
use tsify::Tsify;

use crate::error::LocalRankError;
use crate::gpu::{Backend, GpuDevice, ModelRuntime};
use crate::history::{EventKind, StoredEvent};
use crate::model::{EncoderStep, ModelError};
use crate::pool::CandidatePool;
pub use options::{BlendWeights, BlendWeightsInput, NeighbourSource, RankOptions, RankSettings};
pub use repeat::{RepeatInfo, RepeatParams, RepeatProfile, OCCASION_GAP_MS};
pub use repeat_learned::{LearnedRepeat, REPEAT_FEATURES};
pub use score::{cosine, cosine_scores, cosine_scores_normed};
use neighbours::HistoryNeighbours;
use signals::HistoryStep;

/// The parts of an item's score, before weighting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
pub struct ScoreParts {
    pub intent: f32,
    pub server: f32,
    pub affinity: f32,
    /// Similarity to the shopper's recent history items ([`neighbours`]); 0 when its weight
    /// is 0 (not computed then).
    pub neighbour: f32,
    /// How due a `repeat` item is to be bought again ([`repeat`]), [0, 1]; 0 for items the
    /// shopper never bought or the pool does not mark `repeat`.
    pub repeat: f32,
}

/// Why an item sits where it does, when a rule rather than its score put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum SlotRule {
    Pinned,
    Sponsored,
    /// Already purchased (and not a repeat-purchase item): moved below the rest.
    Purchased,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RankedItem {
    pub id: String,
    /// The item's position in the pool as sent (server order), for callers that hold the pool
    /// and need not copy ids back (the web layer's packed result). Not serialized.
    #[serde(skip)]
    pub index: usize,
    /// The blended score (comparable within one ranking only).
    pub score: f32,
    pub parts: ScoreParts,
    /// The history item that contributed most to this item's place.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub because: Option<String>,
    /// What the shopper did with `because` (viewed, bought, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub because_kind: Option<EventKind>,
    /// For a `repeat` item the shopper bought, when the repeat part counts: how often and how
    /// long ago ("you buy this about every 2 weeks"). `because` is then the item itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub repeat: Option<RepeatInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub rule: Option<SlotRule>,
}

/// How product text and searches entered this ranking: present when the pool has items sent
/// with `text` and no `vector`, or the recent history has searches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct TextUse {
    /// Pool items sent with `text` and no `vector`.
    pub text_items: usize,
    /// Searches among the recent events this ranking read.
    pub searches: usize,
    /// Whether the model's text tower gave those items their vectors and the searches a place
    /// in the model's input. When false, the items are placed by the server score and slot
    /// rules alone (no intent part), the searches are not read, and `reason` says why.
    pub embedded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub reason: Option<String>,
}

/// Where the intent vector came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum IntentSource {
    /// The sequential model.
    Model,
    /// The recency-weighted mean of the history's item vectors (no model loaded).
    History,
    /// No intent vector: only category affinity personalized the order.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Ranking {
    /// Item ids in the order to show.
    pub order: Vec<String>,
    /// False when this is the server's order (see `reason`).
    pub personalized: bool,
    /// Why the order is not personalized, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub reason: Option<String>,
    /// The error code behind `reason`, when an error (rather than, say, an empty history) caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub error: Option<String>,
    /// The input field the error is about (`items[3].score`, `diversity`), when it is about one:
    /// the same as a thrown `LocalRankError`'s `field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub field: Option<String>,
    /// The backend that computed the scores.
    pub backend: Backend,
    /// Why the CPU computed them when WebGPU was requested or tried (WebGPU failures always
    /// complete on the CPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub backend_reason: Option<String>,
    pub intent: IntentSource,
    /// The model version that computed the intent, when a model did.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub model: Option<String>,
    /// The blend weights used (when personalized): the call's `weights`, over the model's
    /// tuned ones when a model computed the intent, over the built-in defaults otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub weights: Option<BlendWeights>,
    /// How items sent with only `text`, and the shopper's searches, were used (absent when
    /// there were none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub text: Option<TextUse>,
    /// One entry per id in `order`, same order. Empty when the pool itself was unusable.
    pub items: Vec<RankedItem>,
    /// Items left out (unavailable).
    pub dropped: Vec<String>,
    /// Time spent inside the engine, in ms (filled in by the caller that can read a clock).
    pub elapsed_ms: f64,
}

impl Ranking {
    /// The fail-open answer when the pool or the options could not be used: the ids as sent,
    /// with the error's message, code and field.
    pub fn unranked(order: Vec<String>, error: &LocalRankError) -> Ranking {
        Ranking {
            order,
            personalized: false,
            reason: Some(error.to_string()),
            error: Some(error.code().to_owned()),
            field: error.field().map(str::to_owned),
            backend: Backend::Cpu,
            backend_reason: None,
            intent: IntentSource::None,
            model: None,
            weights: None,
            text: None,
            items: Vec::new(),
            dropped: Vec::new(),
            elapsed_ms: 0.0,
        }
    }
}

/// An intent vector computed elsewhere (by the model runtime), with the cosine scores of the
/// pool's items when that backend already computed them (WebGPU does both in one submit).
pub struct ModelIntent {
    pub vector: Vec<f32>,
    pub scores: Option<Vec<f32>>,
    pub backend: Backend,
    /// Why the CPU ran when WebGPU was asked for or tried.
    pub fallback: Option<String>,
    pub version: String,
    /// The model's tuned blend weights (model.json `blend`), if it has them.
    pub blend: Option<BlendWeights>,
    /// The neighbour similarity those weights were tuned with (model.json `blend_neighbours`).
    pub blend_neighbours: Option<NeighbourSource>,
    /// The model's tuned repeat parameters (model.json `repeat`), if it has them.
    pub repeat: Option<RepeatParams>,
    /// The model's learned repeat scorer (model.json `repeat_scorer`), if it has one.
    pub repeat_scorer: Option<LearnedRepeat>,
}

/// The loaded model, for [`rank_for_shopper`]: it turns the history into the intent.
pub struct ShopperModel<'m, G: GpuDevice> {
    pub runtime: &'m ModelRuntime<G>,
    /// The ranking time (ms since the epoch): the last event's time gap is measured to it.
    pub now_ms: f64,
}

/// Ranks `pool` for the shopper whose history is `history` (oldest first) — the one entry point
/// the browser engine and the trainer's blend tuning share. `cached` looks up item vectors the
/// engine remembered. With a `model`, its intent (and, from the GPU, the pool's scores) comes
/// from the same resolved history steps the rest of the ranking uses; when the model does not
/// fit the pool the history's weighted mean stands in, and when it fails `on_model_error` hears
/// why and the history's mean stands in too. The intent never leaves this function.
pub async fn rank_for_shopper<'a, G: GpuDevice>(
    pool: &'a CandidatePool,
    history: &'a [StoredEvent],
    cached: &dyn Fn(&str) -> Option<(&'a [f32], Option<&'a str>)>,
    model: Option<ShopperModel<'_, G>>,
    settings: &RankSettings,
    on_model_error: &mut dyn FnMut(ModelError),
) -> Ranking {
    // Product text and searches through the model's text tower, when it has one that makes
    // vectors in this pool's space: text-only items get their vectors (once per pool and
    // model: the pool keeps them), the recent searches theirs (a query is a few words: tens of
    // microseconds each, recomputed per ranking rather than kept beside the history).
    let tower = match &model {
        None => Err("no model is loaded".to_owned()),
        Some(m) => match &m.runtime.encoder().weights().text {
            None => Err("the loaded model has no text tower (model.json `text`)".to_owned()),
            Some(tower) if tower.dim() != pool.dim => {
                Err(format!("the model's text tower makes {}-dimensional vectors and this pool's dim is {}", tower.dim(), pool.dim))
            }
            Some(tower) => Ok((tower, m.runtime.version())),
        },
    };
    let filled = match &tower {
        Ok((tower, version)) => pool.with_text_vectors(tower, version).ok().flatten(),
        Err(_) => None,
    };
    let pool: &CandidatePool = filled.as_deref().unwrap_or(pool);
    let recent = &history[history.len().saturating_sub(settings.history_length)..];
    let mut searches: Vec<(usize, Vec<f32>)> = Vec::new();
    if let Ok((tower, _)) = &tower {
        for (i, event) in recent.iter().enumerate() {
            // A stored query has a non-blank text, but "?!" has no words: that search is skipped.
            if let (EventKind::Search, Some(Ok(vector))) = (event.kind, event.query.as_deref().map(|q| tower.embed("query", q))) {
                searches.push((i, vector));
            }
        }
    }
    let mut steps = signals::resolve_steps(pool, history, &|id| cached(id), settings.history_length);
    for (i, vector) in &searches {
        steps[*i].vector = Some(vector);
    }
    let text = text_use(pool, &steps, tower.as_ref().err().cloned());
    let intent = match model {
        Some(m) => model_intent(m.runtime, pool, &steps, m.now_ms, settings).await.unwrap_or_else(|error| {
            on_model_error(error);
            None
        }),
        None => None,
    };
    rank_steps(pool, history, steps, intent, text, settings)
}

/// What the ranking says about product text and searches; `None` when the pool has no
/// text-only item and the recent history no search. `unused` is why the text tower did not
/// run (no model, no tower, another dim), when it did not.
fn text_use(pool: &CandidatePool, steps: &[HistoryStep], unused: Option<String>) -> Option<TextUse> {
    let text_items = pool.text_only_items();
    let searches = steps.iter().filter(|s| s.event.kind == EventKind::Search).count();
    if text_items == 0 && searches == 0 {
        return None;
    }
    let reason = unused.map(|why| {
        format!("{why}: items sent with only `text` are placed by the server score and slot rules (no intent part), and searches are not read")
    });
    Some(TextUse { text_items, searches, embedded: reason.is_none(), reason })
}

/// Ranks with an intent computed elsewhere (or none: the history's weighted mean then). The
/// same ranking as [`rank_for_shopper`] without a model runtime.
pub fn rank<'a>(
    pool: &'a CandidatePool,
    history: &'a [StoredEvent],
    cached: &dyn Fn(&str) -> Option<(&'a [f32], Option<&'a str>)>,
    model: Option<ModelIntent>,
    settings: &RankSettings,
) -> Ranking {
    let steps = signals::resolve_steps(pool, history, cached, settings.history_length);
    let why = if model.is_some() { "the intent was computed without the model's text tower" } else { "no model is loaded" };
    let text = text_use(pool, &steps, Some(why.to_owned()));
    rank_steps(pool, history, steps, model, text, settings)
}

/// The model's intent for the resolved steps (those with a vector in the model's window), or `None`
/// when the model does not fit this pool or no step has a vector.
async fn model_intent<G: GpuDevice>(
    runtime: &ModelRuntime<G>,
    pool: &CandidatePool,
    steps: &[HistoryStep<'_>],
    now_ms: f64,
    settings: &RankSettings,
) -> Result<Option<ModelIntent>, ModelError> {
    let config = runtime.encoder().config();
    if config.dim != pool.dim || pool.is_empty() {
        return Ok(None);
    }
    // The model's window of recent events (one definition with the trainer's evaluation). The
    // count of events recorded so far is the newest seq (seqs count from 1), whatever order
    // the timestamps put them in.
    let events = steps.iter().map(|s| s.event.seq).max().unwrap_or(0);
    let window = config.window_len(settings.history_length, u64::from(events));
    let recent = &steps[steps.len().saturating_sub(window)..];
    let steps: Vec<EncoderStep> = recent
        .iter()
        .filter_map(|s| s.vector.map(|vector| EncoderStep { vector, kind: s.event.kind, timestamp: s.event.timestamp }))
        .collect();
    if steps.is_empty() {
        return Ok(None);
    }
    let scored = runtime.encode_and_score_normed(&steps, now_ms, &pool.vectors, Some(pool.norms()), 1, settings.backend).await?;
    Ok(Some(ModelIntent {
        vector: scored.intent,
        scores: Some(scored.scores),
        backend: scored.backend,
        fallback: scored.fallback,
        version: runtime.version().to_owned(),
        blend: config.blend,
        blend_neighbours: config.blend_neighbours,
        repeat: config.repeat,
        repeat_scorer: config.repeat_scorer.clone(),
    }))
}

fn rank_steps<'a>(
    pool: &'a CandidatePool,
    history: &'a [StoredEvent],
    steps: Vec<HistoryStep<'a>>,
    model: Option<ModelIntent>,
    text: Option<TextUse>,
    settings: &RankSettings,
) -> Ranking {
    let affinity = signals::category_affinity(&steps);
    let mut precomputed = None;
    let mut model_version = None;
    let mut backend_reason = None;
    let mut model_blend = None;
    let mut repeat_params = RepeatParams::default();
    let mut repeat_scorer = None;
    let (intent, source, backend) = match model {
        Some(m) if m.vector.len() == pool.dim => {
            precomputed = m.scores.filter(|s| s.len() == pool.len());
            model_version = Some(m.version);
            repeat_params = m.repeat.unwrap_or_default();
            repeat_scorer = m.repeat_scorer;
            backend_reason = m.fallback;
            // A neighbour weight tuned with the other similarity than this pool's does not fit
            // its scale: the model contributes none (a call's own weight still applies below).
            let pool_source = if pool.has_neighbours() { NeighbourSource::Cooccurrence } else { NeighbourSource::Cosine };
            model_blend = m.blend.map(|mut b| {
                if m.blend_neighbours.is_some_and(|tuned| tuned != pool_source) {
                    b.neighbour = 0.0;
                }
                b
            });
            (Some(m.vector), IntentSource::Model, m.backend)
        }
        _ => match signals::history_intent(&steps, pool.dim) {
            Some(v) => (Some(v), IntentSource::History, Backend::Cpu),
            None => (None, IntentSource::None, Backend::Cpu),
        },
    };

    let reason = if pool.is_empty() {
        Some("the pool is empty".to_owned())
    } else if history.is_empty() {
        Some("no history yet: showing the server's order".to_owned())
    } else if intent.is_none() && affinity.is_empty() {
        Some(format!(
            "none of the {} recent events has an item vector in this pool's space (dim {}) or a category; \
             pass item vectors to record() or rank a pool containing the items",
            steps.len(),
            pool.dim
        ))
    } else {
        None
    };
    let personalized = reason.is_none();

    let server = server_scores(pool);
    let intent_scores = match (&intent, personalized, precomputed) {
        (Some(_), true, Some(scores)) => scores,
        (Some(u), true, None) => pool.cosine_scores(u),
        _ => vec![0.0; pool.len()],
    };
    let w = settings.weights_for(model_blend);
    // The recent-item list serves the neighbour part and the explanations; built only when one
    // of them runs (it normalises up to SOURCES vectors).
    let wants_neighbour = personalized && (w.neighbour > 0.0 || settings.all_parts);
    // A pool whose items carry co-occurrence lists gets that variant; others the vector cosine.
    let cooccurrence = pool.has_neighbours();
    let sources = (wants_neighbour || (personalized && settings.explain)).then(|| HistoryNeighbours::new(&steps, !cooccurrence));
    let neighbour = match &sources {
        Some(sources) if wants_neighbour && cooccurrence => sources.cooccurrence_scores(pool),
        Some(sources) if wants_neighbour => sources.scores(pool),
        _ => vec![0.0; pool.len()],
    };
    // The repeat part reads the whole kept history (a habit spans months), for `repeat` items.
    let profile = if personalized && (w.repeat > 0.0 || settings.all_parts) { RepeatProfile::from_history(history) } else { RepeatProfile::default() };
    let mut repeat = vec![0.0f32; pool.len()];
    if !profile.is_empty() {
        let scorer = profile.scorer(settings.now_ms, &repeat_params, repeat_scorer.as_ref());
        for id in scorer.bought() {
            if let Some(p) = pool.position(id).filter(|&p| pool.items[p].repeat) {
                repeat[p] = scorer.part(id, pool.items[p].rebuy_rate);
            }
        }
    }
    let parts: Vec<ScoreParts> = (0..pool.len())
        .map(|i| {
            let affinity = match (personalized, &pool.items[i].category) {
                (true, Some(c)) => affinity.get(c).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            ScoreParts { intent: intent_scores[i], server: server[i], affinity, neighbour: neighbour[i], repeat: repeat[i] }
        })
        .collect();
    let blended: Vec<f32> = parts.iter().map(|p| if personalized { w.score(p) } else { p.server }).collect();

    let bought = if personalized { signals::purchased(history) } else { Default::default() };
    let layout = slots::arrange(pool, &blended, &bought, settings, personalized);

    let explainer = sources.as_ref().filter(|_| personalized && settings.explain);
    let items = layout
        .order
        .iter()
        .enumerate()
        .map(|(position, &(i, rule))| {
            let item = &pool.items[i];
            let explained = personalized && settings.explain && position < settings.explain_top;
            // A staple due again is explained by its own rhythm, when the repeat part counts;
            // other items by the history item most like them.
            let repeat = (explained && w.repeat > 0.0 && parts[i].repeat > 0.0).then(|| profile.info(&item.id, settings.now_ms)).flatten();
            let (because, because_kind) = if repeat.is_some() {
                (Some(item.id.clone()), Some(EventKind::Purchase))
            } else {
                explainer
                    .as_ref()
                    .filter(|_| position < settings.explain_top)
                    .and_then(|e| {
                        // A candidate's co-occurrence list is the stronger evidence where it has one.
                        match &item.neighbours {
                            Some(list) => e.explain_listed(&item.id, list),
                            None => e.explain(pool.vector(i), pool.norm(i), &item.id),
                        }
                    })
                    .map_or((None, None), |(id, kind)| (Some(id), Some(kind)))
            };
            RankedItem { id: item.id.clone(), index: i, score: blended[i], parts: parts[i], because, because_kind, repeat, rule }
        })
        .collect::<Vec<_>>();

    Ranking {
        order: items.iter().map(|item| item.id.clone()).collect(),
        personalized,
        reason,
        error: None,
        field: None,
        backend: if personalized { backend } else { Backend::Cpu },
        backend_reason: if personalized { backend_reason } else { None },
        intent: if personalized { source } else { IntentSource::None },
        model: if personalized { model_version } else { None },
        weights: personalized.then_some(w),
        text,
        items,
        dropped: layout.dropped.iter().map(|&i| pool.items[i].id.clone()).collect(),
        elapsed_ms: 0.0,
    }
}

/// The server's scores min-max normalised to [0, 1]; the pool order when any score is missing.
fn server_scores(pool: &CandidatePool) -> Vec<f32> {
    let n = pool.len();
    let scores: Option<Vec<f64>> = pool.items.iter().map(|c| c.score).collect();
    match scores {
        Some(scores) if n > 0 => {
            let (lo, hi) = scores.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &s| (l.min(s), h.max(s)));
            if hi > lo {
                scores.iter().map(|s| ((s - lo) / (hi - lo)) as f32).collect()
            } else {
                vec![1.0; n]
            }
        }
        _ => (0..n).map(|i| 1.0 - i as f32 / n.max(2).saturating_sub(1) as f32).collect(),
    }
}
