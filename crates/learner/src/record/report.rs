//! The evaluation report: accuracy and loss, confusion matrix, per-class precision, recall and
//! F1, and the pairs of classes most often confused.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::Evaluation;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFigures {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub name: String,
    /// Of the images predicted as this class, the fraction that are (0 when none is).
    pub precision: f64,
    /// Of the images of this class, the fraction predicted as it (0 when there is none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Images of this class.
    pub support: u64,
}

/// A pair of classes the model mixes up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// The true class.
    pub actual: usize,
    /// The class predicted instead.
    pub predicted: usize,
    /// How many images.
    pub count: u64,
}

/// Everything `trainer eval` reports, saved as `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Images evaluated.
    pub count: usize,
    /// Accuracy, in `[0, 1]`.
    pub accuracy: f64,
    /// Mean loss: cross-entropy for a softmax head, binary cross-entropy for the sigmoid heads
    /// (see [`Evaluation::loss`]).
    pub loss: f64,
    /// Mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Class names, by index.
    pub class_names: Vec<String>,
    /// `confusion[actual][predicted]`.
    pub confusion: Vec<Vec<u64>>,
    /// Per-class figures.
    pub classes: Vec<ClassFigures>,
    /// The off-diagonal cells of the confusion matrix, most frequent first (at most 10).
    pub most_confused: Vec<Confusion>,
}

impl EvalReport {
    /// Derives the report from an evaluation; `class_names` label the classes (missing names
    /// fall back to the class index).
    pub fn new(evaluation: &Evaluation, class_names: &[impl AsRef<str>]) -> Self {
        let confusion = evaluation.confusion.clone();
        let classes = confusion.len();
        let name = |class: usize| {
            class_names
                .get(class)
                .map_or_else(|| class.to_string(), |name| name.as_ref().to_string())
        };
        let figures: Vec<ClassFigures> = (0..classes)
            .map(|class| {
                let correct = confusion[class][class] as f64;
                let support: u64 = confusion[class].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[class]).sum();
                let precision = ratio(correct, predicted as f64);
                let recall = ratio(correct, support as f64);
                let f1 = ratio(2.0 * precision * recall, precision + recall);
                ClassFigures {
                    class,
                    name: name(class),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let mut most_confused: Vec<Confusion> = (0..classes)
            .flat_map(|actual| (0..classes).map(move |predicted| (actual, predicted)))
            .filter(|(actual, predicted)| actual != predicted)
            .map(|(actual, predicted)| Confusion {
                actual,
                predicted,
                count: confusion[actual][predicted],
            })
            .filter(|pair| pair.count > 0)
            .collect();
        most_confused.sort_by(|a, b| b.count.cmp(&a.count).then(a.actual.cmp(&b.actual)));
        most_confused.truncate(10);
        Self {
            count: evaluation.count,
            accuracy: evaluation.accuracy,
            loss: evaluation.loss,
            macro_f1: figures.iter().map(|f| f.f1).sum::<f64>() / classes.max(1) as f64,
            class_names: (0..classes).map(name).collect(),
            confusion,
            classes: figures,
            most_confused,
        }
    }

    /// The report as text tables.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let width = self
            .class_names
            .iter()
            .map(|n| n.len())
            .max()
            .unwrap_or(1)
            .max(5);
        let _ = writeln!(
            out,
            "accuracy {:.2} % ({} images), loss {:.4}, macro F1 {:.4}\n",
            100.0 * self.accuracy,
            self.count,
            self.loss,
            self.macro_f1
        );
        let _ = writeln!(
            out,
            "{:<width$}  precision  recall      F1  support",
            "class"
        );
        for figures in &self.classes {
            let _ = writeln!(
                out,
                "{:<width$}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
                figures.name, figures.precision, figures.recall, figures.f1, figures.support
            );
        }
        let _ = writeln!(
            out,
            "\nconfusion matrix (rows: true class, columns: predicted)"
        );
        let cell = self
            .confusion
            .iter()
            .flatten()
            .map(|count| count.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        let _ = write!(out, "{:>width$} ", "");
        for class in 0..self.confusion.len() {
            let _ = write!(out, " {:>cell$}", short(&self.class_names[class], cell));
        }
        let _ = writeln!(out);
        for (actual, row) in self.confusion.iter().enumerate() {
            let _ = write!(out, "{:>width$} ", self.class_names[actual]);
            for count in row {
                let _ = write!(out, " {count:>cell$}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "\nmost confused (true -> predicted)");
        for pair in &self.most_confused {
            let _ = writeln!(
                out,
                "  {} -> {}: {}",
                self.class_names[pair.actual], self.class_names[pair.predicted], pair.count
            );
        }
        out
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// The first `width` characters of `name`.
fn short(name: &str, width: usize) -> String {
    name.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_the_confusion_matrix() {
        // 3 classes; rows are true classes.
        let evaluation = Evaluation {
            count: 20,
            accuracy: 0.7,
            loss: 0.5,
            confusion: vec![vec![5, 1, 0], vec![2, 6, 0], vec![0, 3, 3]],
        };
        let report = EvalReport::new(&evaluation, &["a", "b"]);
        assert_eq!(report.class_names, vec!["a", "b", "2"]);
        let b = &report.classes[1];
        assert_eq!(b.support, 8);
        assert!((b.precision - 0.6).abs() < 1e-12); // 6 of 10 predicted b
        assert!((b.recall - 0.75).abs() < 1e-12); // 6 of 8 true b
        assert!((b.f1 - 2.0 * 0.6 * 0.75 / 1.35).abs() < 1e-12);
        let c = &report.classes[2];
        assert_eq!((c.precision, c.recall), (1.0, 0.5));
        assert_eq!(
            report.most_confused,
            vec![
                Confusion {
                    actual: 2,
                    predicted: 1,
                    count: 3
                },
                Confusion {
                    actual: 1,
                    predicted: 0,
                    count: 2
                },
                Confusion {
                    actual: 0,
                    predicted: 1,
                    count: 1
                },
            ]
        );
        let table = report.to_table();
        assert!(table.contains("accuracy 70.00 %"), "{table}");
        assert!(table.contains("2 -> b: 3"), "{table}");
    }

    #[test]
    fn a_class_never_predicted_has_zero_precision_not_nan() {
        let evaluation = Evaluation {
            count: 2,
            accuracy: 0.5,
            loss: 1.0,
            confusion: vec![vec![1, 0], vec![1, 0]],
        };
        let report = EvalReport::new(&evaluation, &[] as &[&str]);
        assert_eq!(report.classes[1].precision, 0.0);
        assert_eq!(report.classes[1].f1, 0.0);
        assert!(report.macro_f1.is_finite());
    }
}
