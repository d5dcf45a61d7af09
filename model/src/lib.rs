//! localrank-model: the intent encoder as a burn Module (work in progress, see issue 7).
