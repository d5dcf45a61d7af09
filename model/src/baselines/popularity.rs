//! Most-popular: every user gets the training-popularity order.
use crate::data::{Dataset, SplitPart};
use crate::eval::Scorer;

pub struct Popularity {
    scores: Vec<f32>,
}

impl Popularity {
    pub fn fit(ds: &Dataset) -> Popularity {
        Popularity { scores: ds.train_popularity().into_iter().map(|c| c as f32).collect() }
    }
}

impl Scorer for Popularity {
    fn score(&self, _ds: &Dataset, users: &[usize], _part: SplitPart) -> Vec<Vec<f32>> {
        users.iter().map(|_| self.scores.clone()).collect()
    }
}
