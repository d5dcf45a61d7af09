pub mod eval;
pub mod export;
pub mod prepare;
pub mod train;
