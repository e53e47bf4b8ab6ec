//! What the monitored validation figure decides: when training stops early, which checkpoints
//! are kept, and which epoch's weights a run keeps when it keeps the best.

use burn::train::checkpoint::{
    ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::metric::store::{Aggregate, Direction, EventStoreClient, Split};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{EarlyStoppingStrategy, SupervisedTraining};

use model::ImageClassifier;

use crate::ValidConfig;
use crate::config::{EarlyStopping, FinalModel, Metric, Monitor};
use crate::train::classifier::Classifier;

/// Early stopping on the monitored figure with a minimum improvement. burn-train's
/// `MetricEarlyStoppingStrategy` counts any improvement, however small; this one counts only
/// one of at least `min_delta` (Keras' and Lightning's meaning), and is otherwise the same:
/// Burn's epoch means of the validation metric, read from its event store.
#[derive(Debug, Clone)]
pub(crate) struct DeltaEarlyStopping {
    monitor: Monitor,
    settings: EarlyStopping,
    best: Option<(usize, f64)>,
}

impl DeltaEarlyStopping {
    pub(crate) fn new(monitor: Monitor, settings: EarlyStopping) -> Self {
        Self {
            monitor,
            settings,
            best: None,
        }
    }
}

impl EarlyStoppingStrategy for DeltaEarlyStopping {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let name = self.monitor.metric.burn_name();
        let Some(value) = store.find_metric(name, epoch, Aggregate::Mean, &Split::Valid) else {
            return false;
        };
        // Burn logs accuracy in percent; min_delta is a fraction for accuracy.
        let scale = if self.monitor.metric == Metric::Accuracy {
            100.0
        } else {
            1.0
        };
        let delta = self.settings.min_delta * scale;
        let better = |best: f64| {
            if self.monitor.lower_is_better() {
                value < best - delta
            } else {
                value > best + delta
            }
        };
        match self.best {
            Some((_, best)) if !better(best) => {}
            _ => {
                self.best = Some((epoch, value));
                return false;
            }
        }
        let (best_epoch, _) = self.best.expect("set above");
        epoch - best_epoch >= self.settings.patience
    }
}

/// `supervised` keeping the last `keep_checkpoints` checkpoints, and with `final_model: best`
/// the best epoch's by the monitored figure (burn-train's own strategies, composed).
pub(crate) fn keep_checkpoints<M: ImageClassifier>(
    supervised: SupervisedTraining<Classifier<M>>,
    config: &ValidConfig,
) -> SupervisedTraining<Classifier<M>> {
    let last = KeepLastNCheckpoints::new(config.keep_checkpoints);
    if config.final_model == FinalModel::Last {
        return supervised.with_checkpointing_strategy(last);
    }
    let direction = if config.monitor.lower_is_better() {
        Direction::Lowest
    } else {
        Direction::Highest
    };
    let best = match config.monitor.metric {
        Metric::Loss => MetricCheckpointingStrategy::new(
            &LossMetric::new(),
            Aggregate::Mean,
            direction,
            Split::Valid,
        ),
        Metric::Accuracy => MetricCheckpointingStrategy::new(
            &AccuracyMetric::new(),
            Aggregate::Mean,
            direction,
            Split::Valid,
        ),
    };
    supervised.with_checkpointing_strategy(
        ComposedCheckpointingStrategy::builder()
            .add(last)
            .add(best)
            .build(),
    )
}

/// The best of `values` (epoch, figure) by `monitor`: the first of equals.
pub(crate) fn best_epoch(monitor: &Monitor, values: &[(usize, f64)]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &(epoch, value) in values.iter().filter(|(_, value)| value.is_finite()) {
        let better = match best {
            None => true,
            Some((_, current)) if monitor.lower_is_better() => value < current,
            Some((_, current)) => value > current,
        };
        if better {
            best = Some((epoch, value));
        }
    }
    best.map(|(epoch, _)| epoch)
}
