//! The model contract: what any Burn image classifier implements to be trained by the workspace's
//! learner and opened by its tools, without depending on either.

use burn::module::ModuleDisplay;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::serde::{Deserialize, Serialize};
use burn::tensor::activation::softmax;

/// What a model is built for: images of `[channels, height, width]` and a number of classes.
/// The data tells it; nothing in the learner assumes 28x28 or 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(crate = "burn::serde")]
pub struct DataShape {
    /// Colour channels of an image: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Pixel rows of an image.
    pub height: usize,
    /// Pixel columns of an image.
    pub width: usize,
    /// Classes the model tells apart (its number of outputs, for the usual heads).
    pub num_classes: usize,
}

impl DataShape {
    /// Images of `channels x height x width`, `num_classes` classes.
    pub fn new(channels: usize, height: usize, width: usize, num_classes: usize) -> Self {
        Self {
            channels,
            height,
            width,
            num_classes,
        }
    }

    /// MNIST's: 1 x 28 x 28 grey images, 10 classes.
    pub fn mnist() -> Self {
        Self::new(1, 28, 28, 10)
    }

    /// Values per image: `channels * height * width` (what a flattening model takes).
    pub fn input_size(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// An image classifier the learner can train and every tool can open: a Burn module
/// (`#[derive(Module, Debug)]` gives every bound) with one required method,
/// [`logits`](Self::logits).
///
/// The loss defaults to softmax cross-entropy (PyTorch's `CrossEntropyLoss`), the scores and
/// probabilities to softmax; a model with another head overrides them (the logistic
/// regression's one-vs-rest and binary heads do). [`kind`](Self::kind) and
/// [`config_json`](Self::config_json) are what a run records of the model (`model.json`), and
/// [`extra_artifacts`](Self::extra_artifacts) lets a model add files of its own to a finished
/// run.
///
/// ```
/// use burn::nn::{Linear, LinearConfig, Relu};
/// use burn::prelude::*;
/// use model::{DataShape, ImageClassifier};
///
/// #[derive(Module, Debug)]
/// struct Mlp { hidden: Linear, out: Linear, act: Relu }
///
/// impl ImageClassifier for Mlp {
///     // images: [batch, channels, height, width] floats; returns one logit per class
///     fn logits(&self, images: Tensor<4>) -> Tensor<2> {
///         let x = images.flatten(1, 3);
///         self.out.forward(self.act.forward(self.hidden.forward(x)))
///     }
/// }
///
/// let device = Device::flex();
/// let shape = DataShape::mnist();
/// let mlp = Mlp {
///     hidden: LinearConfig::new(shape.input_size(), 32).init(&device),
///     out: LinearConfig::new(32, shape.num_classes).init(&device),
///     act: Relu::new(),
/// };
/// let logits = mlp.logits(Tensor::zeros([2, 1, 28, 28], &device));
/// let scores = mlp.scores(logits.clone()); // softmax: rows sum to 1
/// assert_eq!(scores.dims(), [2, 10]);
/// ```
pub trait ImageClassifier: Module + ModuleDisplay + 'static {
    /// One logit per class for a batch of images, `[batch, channels, height, width]` floats
    /// (pixels scaled to `[0, 1]`, normalised if the data asks for it).
    fn logits(&self, images: Tensor<4>) -> Tensor<2>;

    /// The mean training loss of a batch, from its logits and its class indices (`[batch]`).
    /// Default: softmax cross-entropy.
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, targets)
    }

    /// Class scores from logits, `[batch, num_classes]`: their row-wise argmax is the
    /// prediction and the accuracy metric reads them. Default: softmax.
    fn scores(&self, logits: Tensor<2>) -> Tensor<2> {
        softmax(logits, 1)
    }

    /// Class probabilities from logits, `[batch, num_classes]`, as `predict` shows them.
    /// Default: softmax.
    fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        softmax(logits, 1)
    }

    /// The model in a few words, for the end of a run (`MLP 784-256-10`). Default: the type's
    /// name.
    fn describe(&self) -> String {
        let name = std::any::type_name::<Self>();
        name.rsplit("::").next().unwrap_or(name).to_string()
    }

    /// What kind of model this is, as its runs record it (`model.json`): the zoo's models say
    /// `logistic`, `mlp` or `cnn`, which every tool opens; the default, the type's full path
    /// (`my_app::MyNet`), tells a model of your own, which the binary that trained it opens.
    fn kind(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// The model's own config as JSON (an object), recorded in `model.json` so that a resume
    /// can tell a changed architecture and a tool can rebuild the model. Default: none.
    fn config_json(&self) -> Option<String> {
        None
    }

    /// Files of this model's own that a finished run saves beside `model.bpk` (the linear
    /// model's `weights.png` and `model.safetensors`, say). Default: none.
    ///
    /// Each name must be one of the learner's model files (`model.safetensors`, `weights.png`)
    /// or `extras/<file>`, given once: the learner writes all the others itself, and no model
    /// can write over them. An error is the reason, in words.
    fn extra_artifacts(&self, run: &ArtifactContext<'_>) -> Result<Vec<ExtraArtifact>, String> {
        let _ = run;
        Ok(Vec::new())
    }
}

/// What [`ImageClassifier::extra_artifacts`] knows of the run.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactContext<'a> {
    /// The data the model was trained on.
    pub shape: DataShape,
    /// Names of the classes, in label order.
    pub class_names: &'a [String],
}

/// A file a model adds to its run.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtraArtifact {
    /// A file of these bytes, written atomically.
    File {
        /// File name: `model.safetensors`, or `extras/<name>`.
        name: String,
        /// Content.
        bytes: Vec<u8>,
    },
    /// A picture of heat maps, one per label, drawn by the learner (PNG) and shown in
    /// TensorBoard: the linear model's per-class weight templates, a network's filters.
    Heatmaps {
        /// File name: `weights.png`, or `extras/<name>.png`.
        name: String,
        /// Rows of each map.
        height: usize,
        /// Columns of each map.
        width: usize,
        /// `(label, height * width values)` for each map, drawn with one colour scale per map
        /// (red positive, blue negative).
        maps: Vec<(String, Vec<f32>)>,
    },
}

impl ExtraArtifact {
    /// Its file name.
    pub fn name(&self) -> &str {
        match self {
            ExtraArtifact::File { name, .. } | ExtraArtifact::Heatmaps { name, .. } => name,
        }
    }
}

/// A model as the tools use it once trained: the object-safe part of [`ImageClassifier`], so
/// that one function can open a run of any model ([`crate::zoo::load_run`]).
pub trait Classify: std::fmt::Debug + Send {
    /// See [`ImageClassifier::logits`].
    fn logits(&self, images: Tensor<4>) -> Tensor<2>;
    /// See [`ImageClassifier::loss`].
    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1>;
    /// See [`ImageClassifier::scores`].
    fn scores(&self, logits: Tensor<2>) -> Tensor<2>;
    /// See [`ImageClassifier::probabilities`].
    fn probabilities(&self, logits: Tensor<2>) -> Tensor<2>;
    /// See [`ImageClassifier::describe`].
    fn describe(&self) -> String;
    /// Trainable values.
    fn parameters(&self) -> usize;
}

impl<M: ImageClassifier> Classify for M {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        ImageClassifier::logits(self, images)
    }

    fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        ImageClassifier::loss(self, logits, targets)
    }

    fn scores(&self, logits: Tensor<2>) -> Tensor<2> {
        ImageClassifier::scores(self, logits)
    }

    fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        ImageClassifier::probabilities(self, logits)
    }

    fn describe(&self) -> String {
        ImageClassifier::describe(self)
    }

    fn parameters(&self) -> usize {
        Module::num_params(self)
    }
}
