//! What a resume may and may not change, and what a diverged run is told to change.

use std::path::Path;

use crate::TrainingConfig;

/// Settings that decide what a run's checkpoints are made of: a resume must keep them. (The
/// number of epochs, the optimizer's settings, early stopping, evaluation batches and logging
/// may change: lowering the learning rate after a divergence is what its error advises.)
///
/// The model is not among them: `model.json` records the model itself (its kind, config and
/// input shape), and [`crate::run::card::check_resume`] compares that. The data's `path` may
/// change too (the same files moved), but not the rest of its block.
const KEPT_ON_RESUME: [&str; 7] = [
    "dataset",
    "task",
    "validation",
    "batch_size",
    "iterations_per_epoch",
    "seed",
    "lr_schedule",
];

/// The settings a resume with `config` would change among those it must keep, each as
/// `field: old -> new`, compared with the config the run's checkpoints were made with.
pub(crate) fn resume_changes(recorded: &TrainingConfig, config: &TrainingConfig) -> Vec<String> {
    let without_path = |config: &TrainingConfig| {
        let mut value = serde_json::to_value(config).expect("a config serialises");
        if let Some(dataset) = value.get_mut("dataset").and_then(|d| d.as_object_mut()) {
            dataset.remove("path");
        }
        value
    };
    let (old, new) = (without_path(recorded), without_path(config));
    let mut changes = Vec::new();
    // The optimizer's settings may change (a lower learning rate after a divergence), its
    // kind may not: its state (momentum, moments) is what the checkpoints hold.
    if recorded.optimizer.name() != config.optimizer.name() {
        changes.push(format!(
            "optimizer.type: {:?} -> {:?} (the optimizer's state is in the checkpoints)",
            recorded.optimizer.name(),
            config.optimizer.name()
        ));
    }
    for field in KEPT_ON_RESUME {
        differences(field.to_string(), &old[field], &new[field], &mut changes);
    }
    changes
}

/// Appends `path: old -> new` for every leaf where `old` and `new` differ.
pub(crate) fn differences(
    path: String,
    old: &serde_json::Value,
    new: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(old_fields), Value::Object(new_fields))
            if old_fields.get("type") == new_fields.get("type") =>
        {
            let mut names: Vec<&String> = old_fields.keys().chain(new_fields.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                differences(
                    format!("{path}.{name}"),
                    old_fields.get(name).unwrap_or(&Value::Null),
                    new_fields.get(name).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => out.push(format!("{path}: {old} -> {new}")),
        _ => {}
    }
}

/// What a diverged run's error advises: the setting to blame, and a next step that works from
/// where the run is (`kept`: its last good checkpoint, if any; `artifacts`: its folder).
///
/// The learning rate is blamed, unless the weight decay is beyond any sensible value (above 1)
/// and its step alone overshoots (`learning_rate * weight_decay > 1` flips the sign of every
/// weight each step, so the weights grow without bound): then the weight decay, and both when
/// the learning rate is also large. With a checkpoint, the run's own `config.json` is edited and
/// `--resume` continues from it (the optimizer's settings may change on resume); without one,
/// the run starts again with `--overwrite` (a plain `--resume` would repeat the same divergence).
pub(crate) fn divergence_advice(
    config: &TrainingConfig,
    kept: Option<usize>,
    artifacts: &Path,
) -> String {
    let opt = &config.optimizer;
    let (lr, decay) = (opt.learning_rate(), opt.weight_decay());
    let lower_lr = format!("{:?}", lr / 10.0);
    let blame_decay = decay > 1.0 && lr * decay > 1.0;
    let cause = if !blame_decay {
        format!("the learning rate {lr:?} is probably too large")
    } else if lr > 1.0 {
        format!(
            "the weight decay {decay:?} is too strong for the learning rate {lr:?} (their \
             product is above 1, so each step overshoots), and the learning rate is large too"
        )
    } else {
        format!(
            "the weight decay {decay:?} is too strong for the learning rate {lr:?} (their \
             product is above 1, so each step overshoots)"
        )
    };
    let mut edits = Vec::new();
    if blame_decay {
        edits.push(format!("lower optimizer.weight_decay ({decay:?})"));
    }
    if !blame_decay || lr > 1.0 {
        edits.push(format!(
            "lower optimizer.learning_rate ({lr:?}; {lower_lr}, say)"
        ));
    }
    let edits = edits.join(" and ");
    let dir = artifacts.display();
    let next = match kept {
        Some(epoch) => format!(
            "The checkpoint of epoch {epoch}, the last good one, is kept in {dir}/checkpoint: \
             {edits} in {dir}/config.json, then continue from it with --resume --artifacts \
             {dir}; or start again with --overwrite{}",
            if blame_decay {
                " and a config whose weight decay is lower".to_string()
            } else {
                format!(" --learning-rate {lower_lr}")
            }
        ),
        None if blame_decay => format!(
            "No epoch had completed, so there is no checkpoint to continue from: {edits} in the \
             config (--config), then run again with --overwrite (or another --artifacts folder)"
        ),
        None => format!(
            "No epoch had completed, so there is no checkpoint to continue from: run the same \
             command again with --overwrite --learning-rate {lower_lr} (or another --artifacts \
             folder)"
        ),
    };
    format!("{cause}. {next}")
}
