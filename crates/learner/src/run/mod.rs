//! The run folder: where a run's files go ([`ArtifactDir`], [`RunFolder`]), what it wrote
//! (`manifest`), who writes it (`lock`), its checkpoints and history, its model's card and its
//! summary.

pub mod card;
pub(crate) mod checkpoints;
pub(crate) mod folder;
pub(crate) mod history;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod summary;
