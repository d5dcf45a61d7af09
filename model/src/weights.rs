//! Named f32 weight tensors: the bridge between the burn Module and files. Names and layouts
//! are the ones docs/model-format.md specifies (linear weights are [in, out], y = x·W + b).
use std::collections::BTreeMap;

use burn::module::Param;
use burn::nn::{DropoutConfig, Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::EncoderConfig;
use crate::encoder::{Block, IntentEncoder};
use crate::text_tower::TextTower;
use crate::error::{ModelError, Result};

/// Name of the item-vector table; it ships separately from the encoder weights.
pub const ITEM_VECTORS: &str = "item_vectors";

#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelWeights {
    pub config: EncoderConfig,
    /// Every encoder tensor plus `item_vectors` [num_items, dim].
    pub tensors: BTreeMap<String, NamedTensor>,
}

fn read<const D: usize>(t: Tensor<D>) -> Result<NamedTensor> {
    let shape = t.dims().to_vec();
    let data = t.into_data().try_into_vec::<f32>().map_err(|e| ModelError::Backend(format!("{e:?}")))?;
    Ok(NamedTensor { shape, data })
}

impl ModelWeights {
    pub fn from_encoder(enc: &IntentEncoder, config: &EncoderConfig) -> Result<ModelWeights> {
        let mut t = BTreeMap::new();
        let d = config.dim;
        if enc.item_bags.is_some() {
            // The engine gets each item's whole vector: ID row + text vector, folded here.
            let device = enc.item.weight.device();
            let all: Vec<i64> = (0..config.num_items as i64).collect();
            t.insert(ITEM_VECTORS.to_string(), read(enc.item_vectors(&all, None, false, &device))?);
        } else {
            let item = read(enc.item.weight.val())?;
            t.insert(ITEM_VECTORS.to_string(), NamedTensor { shape: vec![item.shape[0] - 1, d], data: item.data[d..].to_vec() });
        }
        if let Some(tower) = &enc.text {
            t.insert(localrank_core::model::TEXT_EMBEDDING.into(), read(tower.embedding.weight.val())?);
            t.insert(localrank_core::model::TEXT_PROJ_WEIGHT.into(), read(tower.proj.weight.val())?);
            // The trainer's projection has no bias (see `TextTower::new`): the format's is zeros.
            let bias = match &tower.proj.bias {
                Some(bias) => read(bias.val())?,
                None => NamedTensor { shape: vec![d], data: vec![0.0; d] },
            };
            t.insert(localrank_core::model::TEXT_PROJ_BIAS.into(), bias);
        }
        t.insert("kind_embedding".into(), read(enc.kind.weight.val())?);
        t.insert("gap_embedding".into(), read(enc.gap.weight.val())?);
        t.insert("position_embedding".into(), read(enc.position.weight.val())?);
        let put_ln = |t: &mut BTreeMap<String, NamedTensor>, name: &str, ln: &LayerNorm| -> Result<()> {
            t.insert(format!("{name}.gamma"), read(ln.gamma.val())?);
            let beta = ln.beta.as_ref().ok_or_else(|| ModelError::BadWeights(format!("{name} has no beta")))?;
            t.insert(format!("{name}.beta"), read(beta.val())?);
            Ok(())
        };
        let put_lin = |t: &mut BTreeMap<String, NamedTensor>, name: &str, lin: &Linear| -> Result<()> {
            t.insert(format!("{name}.weight"), read(lin.weight.val())?);
            let bias = lin.bias.as_ref().ok_or_else(|| ModelError::BadWeights(format!("{name} has no bias")))?;
            t.insert(format!("{name}.bias"), read(bias.val())?);
            Ok(())
        };
        for (i, b) in enc.blocks.iter().enumerate() {
            let p = format!("blocks.{i}");
            put_ln(&mut t, &format!("{p}.ln1"), &b.ln1)?;
            put_lin(&mut t, &format!("{p}.attn.q"), &b.q)?;
            put_lin(&mut t, &format!("{p}.attn.k"), &b.k)?;
            put_lin(&mut t, &format!("{p}.attn.v"), &b.v)?;
            put_lin(&mut t, &format!("{p}.attn.o"), &b.o)?;
            put_ln(&mut t, &format!("{p}.ln2"), &b.ln2)?;
            put_lin(&mut t, &format!("{p}.ffn.up"), &b.ff1)?;
            put_lin(&mut t, &format!("{p}.ffn.down"), &b.ff2)?;
        }
        put_ln(&mut t, "ln_final", &enc.ln_final)?;
        let w = ModelWeights { config: config.clone(), tensors: t };
        w.check()?;
        Ok(w)
    }

    /// Every tensor name with its expected shape: the item table, then the encoder tensors in
    /// the engine's order (the engine's list is the one definition of the format's tensors).
    pub fn expected_shapes(c: &EncoderConfig) -> Vec<(String, Vec<usize>)> {
        let mut v = vec![(ITEM_VECTORS.to_string(), vec![c.num_items, c.dim])];
        v.extend(c.engine_config().expected_tensors());
        v
    }

    /// Every expected tensor is present with the right shape and finite values.
    pub fn check(&self) -> Result<()> {
        self.config.check()?;
        for (name, shape) in Self::expected_shapes(&self.config) {
            let t = self.tensors.get(&name).ok_or_else(|| ModelError::BadWeights(format!("missing tensor {name}")))?;
            if t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
                return Err(ModelError::BadWeights(format!("{name} has shape {:?}, expected {shape:?}", t.shape)));
            }
            if t.data.iter().any(|x| !x.is_finite()) {
                return Err(ModelError::BadWeights(format!("{name} contains NaN or infinity")));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<&NamedTensor> {
        self.tensors.get(name).ok_or_else(|| ModelError::BadWeights(format!("missing tensor {name}")))
    }

    /// Rebuilds the burn Module (dropout as configured; call `.valid()` for inference).
    pub fn to_encoder(&self, device: &Device) -> Result<IntentEncoder> {
        self.check()?;
        let c = &self.config;
        let t2 = |name: &str| -> Result<Param<Tensor<2>>> {
            let t = self.get(name)?;
            Ok(Param::from_tensor(Tensor::<2>::from_data(TensorData::new(t.data.clone(), [t.shape[0], t.shape[1]]), device)))
        };
        let t1 = |name: &str| -> Result<Param<Tensor<1>>> {
            let t = self.get(name)?;
            Ok(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(t.data.clone(), [t.shape[0]]), device)))
        };
        let ln = |name: &str| -> Result<LayerNorm> {
            let mut l = LayerNormConfig::new(c.dim).with_epsilon(c.layer_norm_eps).init(device);
            l.gamma = t1(&format!("{name}.gamma"))?;
            l.beta = Some(t1(&format!("{name}.beta"))?);
            Ok(l)
        };
        let lin = |name: &str| -> Result<Linear> { Ok(Linear { weight: t2(&format!("{name}.weight"))?, bias: Some(t1(&format!("{name}.bias"))?) }) };
        // The padding row only feeds padding positions, whose outputs are never used.
        let items = self.get(ITEM_VECTORS)?;
        let mut with_pad = vec![0f32; c.dim];
        with_pad.extend_from_slice(&items.data);
        let item = Embedding { weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(with_pad, [c.num_items + 1, c.dim]), device)) };
        let mut blocks = Vec::new();
        for i in 0..c.blocks {
            let p = format!("blocks.{i}");
            blocks.push(Block {
                ln1: ln(&format!("{p}.ln1"))?,
                q: lin(&format!("{p}.attn.q"))?,
                k: lin(&format!("{p}.attn.k"))?,
                v: lin(&format!("{p}.attn.v"))?,
                o: lin(&format!("{p}.attn.o"))?,
                ln2: ln(&format!("{p}.ln2"))?,
                ff1: lin(&format!("{p}.ffn.up"))?,
                ff2: lin(&format!("{p}.ffn.down"))?,
                dropout: DropoutConfig::new(c.dropout).init(),
                heads: c.heads,
            });
        }
        let text = match &c.text {
            Some(_) => Some(TextTower {
                embedding: Embedding { weight: t2(localrank_core::model::TEXT_EMBEDDING)? },
                proj: Linear { weight: t2(localrank_core::model::TEXT_PROJ_WEIGHT)?, bias: Some(t1(localrank_core::model::TEXT_PROJ_BIAS)?) },
            }),
            None => None,
        };
        Ok(IntentEncoder {
            text,
            // The item rows already hold their text vectors (as the engine's item table does).
            item_bags: None,
            item,
            kind: Embedding { weight: t2("kind_embedding")? },
            gap: Embedding { weight: t2("gap_embedding")? },
            position: Embedding { weight: t2("position_embedding")? },
            blocks,
            ln_final: ln("ln_final")?,
            dropout: DropoutConfig::new(c.dropout).init(),
            temperature: c.temperature,
            positions: c.positions,
        })
    }

    /// A seeded random-init model in the export format, for parity tests of other
    /// implementations of the forward pass. Biases and layer-norm parameters are randomised
    /// too (a fresh burn init would leave them 0/1 and hide layout mistakes).
    pub fn random(config: &EncoderConfig, seed: u64) -> Result<ModelWeights> {
        use rand::{Rng, SeedableRng};
        config.check()?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = BTreeMap::new();
        for (name, shape) in Self::expected_shapes(config) {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.ends_with(".gamma") {
                (0..n).map(|_| rng.random_range(0.5..1.5)).collect()
            } else {
                let scale = if shape.len() == 2 && !name.contains("embedding") && name != ITEM_VECTORS { 1.0 / (shape[0] as f32).sqrt() } else { 0.5 };
                (0..n).map(|_| rng.random_range(-1.0..1.0f32) * scale).collect()
            };
            tensors.insert(name, NamedTensor { shape, data });
        }
        Ok(ModelWeights { config: config.clone(), tensors })
    }
}
