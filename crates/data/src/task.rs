//! Which classification problem to learn from a dataset: all its classes, or the binary
//! problems of the article (one pair of classes, or one class against the rest).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ImageSet, Label};

/// The classification problem. JSON: `{"type": "all-classes"}` (the default),
/// `{"type": "pair", "positive": 3, "negative": 8}` or `{"type": "against-rest", "positive": 0}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Task {
    /// Every class of the dataset, labels unchanged.
    #[default]
    AllClasses,
    /// Two of the classes: images of `negative` become label 0, of `positive` label 1; the
    /// others are left out.
    Pair {
        /// The class that becomes label 1.
        positive: Label,
        /// The class that becomes label 0.
        negative: Label,
    },
    /// One class against all the others: `positive` becomes label 1, every other class 0.
    AgainstRest {
        /// The class that becomes label 1.
        positive: Label,
    },
}

impl Task {
    /// Checks the classes exist in a dataset of `num_classes` classes and differ.
    pub fn validate(self, num_classes: usize) -> Result<(), String> {
        let check = |field: &str, class: Label| {
            if usize::from(class) < num_classes {
                Ok(())
            } else {
                Err(format!(
                    "task.{field} is {class}, but the dataset's classes are 0 to {}",
                    num_classes - 1
                ))
            }
        };
        match self {
            Task::AllClasses => Ok(()),
            Task::AgainstRest { positive } => check("positive", positive),
            Task::Pair { positive, negative } => {
                check("positive", positive)?;
                check("negative", negative)?;
                if positive == negative {
                    return Err(format!(
                        "task.positive and task.negative are both {positive}: a pair needs two different classes"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Number of classes the model tells apart: the data's `classes`, or 2.
    pub fn num_classes(self, classes: usize) -> usize {
        match self {
            Task::AllClasses => classes,
            Task::Pair { .. } | Task::AgainstRest { .. } => 2,
        }
    }

    /// Names of the task's classes, by label, from the data's class names.
    pub fn class_names(self, names: &[String]) -> Vec<String> {
        let name = |class: Label| {
            names
                .get(usize::from(class))
                .cloned()
                .unwrap_or_else(|| class.to_string())
        };
        match self {
            Task::AllClasses => names.to_vec(),
            Task::Pair { positive, negative } => vec![name(negative), name(positive)],
            Task::AgainstRest { positive } => {
                vec![format!("not {}", name(positive)), name(positive)]
            }
        }
    }

    /// The images of `set` this task uses, relabelled (the set itself for
    /// [`Task::AllClasses`]); an error only when the memory for the copy cannot be had.
    pub fn apply(self, set: &ImageSet) -> Result<ImageSet, crate::DataError> {
        Ok(match self {
            Task::AllClasses => set.clone(),
            Task::AgainstRest { positive } => positive_or_not(set, positive),
            Task::Pair { positive, negative } => {
                let kept: Vec<usize> = (0..set.len())
                    .filter(|&i| set.label(i) == positive || set.label(i) == negative)
                    .collect();
                positive_or_not(&set.select(&kept)?, positive)
            }
        })
    }
}

/// `set` relabelled 1 for the images of `positive`, 0 for the others.
fn positive_or_not(set: &ImageSet, positive: Label) -> ImageSet {
    let labels = set
        .labels()
        .iter()
        .map(|&label| Label::from(label == positive))
        .collect();
    set.with_labels(labels)
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::AllClasses => f.write_str("all classes"),
            Task::Pair { positive, negative } => write!(f, "{positive} (1) vs {negative} (0)"),
            Task::AgainstRest { positive } => write!(f, "{positive} (1) vs the rest (0)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ImageSet {
        // Five 1x2 images with labels 0, 3, 8, 3, 5; pixel values record the index.
        ImageSet::grey(
            1,
            2,
            vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
            vec![0, 3, 8, 3, 5],
        )
        .unwrap()
    }

    #[test]
    fn pair_keeps_the_two_classes_and_relabels_them() {
        let pair = Task::Pair {
            positive: 3,
            negative: 8,
        }
        .apply(&set())
        .unwrap();
        assert_eq!(pair.labels(), &[1, 0, 1]);
        assert_eq!(pair.pixels(), &[1, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn against_rest_keeps_everything() {
        let rest = Task::AgainstRest { positive: 3 }.apply(&set()).unwrap();
        assert_eq!(rest.labels(), &[0, 1, 0, 1, 0]);
        assert_eq!(rest.pixels(), set().pixels());
        assert_eq!(Task::AllClasses.apply(&set()).unwrap(), set());
    }

    #[test]
    fn bad_tasks_are_rejected_with_the_field_named() {
        let err = Task::Pair {
            positive: 4,
            negative: 4,
        }
        .validate(10)
        .unwrap_err();
        assert!(err.contains("both 4"), "{err}");
        let err = Task::AgainstRest { positive: 10 }.validate(10).unwrap_err();
        assert!(err.contains("task.positive is 10"), "{err}");
    }

    #[test]
    fn names_and_json() {
        let task: Task =
            serde_json::from_str(r#"{"type": "pair", "positive": 3, "negative": 8}"#).unwrap();
        let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        assert_eq!(
            task.class_names(&digits),
            vec!["8".to_string(), "3".to_string()]
        );
        assert_eq!(task.num_classes(10), 2);
        let rest: Task =
            serde_json::from_str(r#"{"type": "against-rest", "positive": 0}"#).unwrap();
        assert_eq!(rest.class_names(&digits)[0], "not 0");
        assert!(serde_json::from_str::<Task>(r#"{"type": "pair", "positive": 3}"#).is_err());
    }
}
