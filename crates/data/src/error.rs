use std::path::PathBuf;

/// Everything that can go wrong while finding, reading or splitting a data set.
///
/// Each variant names the file or setting at fault and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A data folder named by the user does not exist or is not a folder.
    #[error("data folder {path} ({origin}) does not exist or is not a folder")]
    FolderMissing {
        /// The folder that was named.
        path: PathBuf,
        /// Where the name came from (`--data-dir`, `MNIST_DIR`, ...).
        origin: String,
    },
    /// The folder exists but lacks some of the files of its layout.
    #[error(
        "{folder} ({origin}) lacks {missing}: it must hold {layout}",
        missing = .missing.join(", ")
    )]
    MissingFiles {
        /// The folder that was searched.
        folder: PathBuf,
        /// Where the folder name came from.
        origin: String,
        /// The file names that are absent.
        missing: Vec<String>,
        /// What the layout holds, in words.
        layout: String,
    },
    /// A folder holds none of the layouts a data set may come in.
    #[error(
        "{folder} ({origin}) holds no data set this program reads: looked for the four IDX files \
         (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, raw or .gz), CIFAR-10's binary files (data_batch_1.bin to \
         data_batch_5.bin, test_batch.bin), CIFAR-100's (train.bin, test.bin), also in \
         cifar-10-batches-bin/ or cifar-100-binary/, and an image folder (train/<class>/ and \
         test/<class>/ of PNG, JPEG or BMP pictures); see docs/data.md"
    )]
    UnknownLayout {
        /// The folder.
        folder: PathBuf,
        /// Where the folder name came from.
        origin: String,
    },
    /// A file of fixed-size records does not hold a whole number of them.
    #[error(
        "{path} is {size} bytes, which is not a whole number of {format} records of {record} \
         bytes: the file is truncated or not a {format} file; download or copy it again"
    )]
    BadRecords {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// Bytes per record.
        record: u64,
        /// The format's name.
        format: &'static str,
    },
    /// A class names file names another number of classes than the data has.
    #[error("{path} names {found} classes; the data set has {expected}")]
    BadClassNames {
        /// The file.
        path: PathBuf,
        /// Names found.
        found: usize,
        /// Classes the format has.
        expected: usize,
    },
    /// Something in an image folder is not where or what the layout wants.
    #[error("{path} {problem}")]
    BadFolder {
        /// The file or folder at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// Pictures of different sizes, and no size to resize them to.
    #[error(
        "the pictures differ in size: {first} is {}x{} and {other} is {}x{}; give the dataset \
         block an \"image_size\": [height, width] to resize them all",
        first_size.0, first_size.1, other_size.0, other_size.1
    )]
    MixedSizes {
        /// The first picture.
        first: PathBuf,
        /// Its width and height.
        first_size: (u32, u32),
        /// The first picture of another size.
        other: PathBuf,
        /// Its width and height.
        other_size: (u32, u32),
    },
    /// A value of the dataset block is wrong.
    #[error("config field `{field}` {problem}")]
    BadSpec {
        /// The field, as written in the config (`dataset.image_size`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A worker thread reading pictures panicked (a bug).
    #[error(
        "reading the pictures failed unexpectedly (a worker thread panicked); please report it"
    )]
    Panicked,
    /// No folder was given and none of the fallbacks can provide the dataset.
    #[error("no {dataset} data found: {hint}")]
    NotFound {
        /// The dataset that was asked for.
        dataset: String,
        /// What was tried and how to fix it.
        hint: String,
    },
    /// Burn's MNIST download failed.
    #[error(
        "downloading MNIST with Burn failed: {reason}. Pass --data-dir (or set MNIST_DIR) to a folder holding the four MNIST IDX files"
    )]
    Download {
        /// What went wrong.
        reason: String,
    },
    /// Reading a file failed at the operating-system level.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error(
        "{path} is not a valid gzip stream ({reason}); the file is corrupt: download or copy it again"
    )]
    CorruptGzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor reported.
        reason: String,
    },
    /// The file ends before its header does.
    #[error(
        "{path} is truncated: it ends inside its {what}-byte IDX header; the file is incomplete: download or copy it again"
    )]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Header length in bytes.
        what: usize,
    },
    /// The magic number is not the one of the expected IDX kind.
    #[error(
        "{path} is not an IDX {expected_kind} file: its magic number is 0x{found:08x}, expected 0x{expected:08x}; check that the file names are not swapped"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        expected_kind: &'static str,
        /// The magic number that was read.
        found: u32,
        /// The magic number of that kind of file.
        expected: u32,
    },
    /// The header declares an impossible image size.
    #[error("{path} declares {rows}x{cols} images; both sides must be at least 1")]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Declared rows.
        rows: u32,
        /// Declared columns.
        cols: u32,
    },
    /// The header declares more data than this program can hold.
    #[error(
        "{path} declares {count} items of {item_bytes} bytes, more than can be addressed; the header is corrupt"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Declared item count.
        count: u32,
        /// Bytes per item.
        item_bytes: u64,
    },
    /// The header declares more data than any MNIST-style dataset holds.
    #[error(
        "{path} declares {count} items of {item_bytes} bytes ({size} MB), more than the {limit_mb} MB \
         an IDX file may hold here (MNIST's training images are 47 MB); the header is corrupt or \
         the file is not an MNIST-style dataset",
        size = (*count as u64 * *item_bytes) >> 20,
        limit_mb = *limit >> 20
    )]
    Oversized {
        /// The file.
        path: PathBuf,
        /// Declared item count.
        count: u32,
        /// Bytes per item.
        item_bytes: u64,
        /// The largest body accepted, in bytes ([`crate::idx::MAX_BODY_BYTES`]).
        limit: u64,
    },
    /// Memory for the data could not be allocated.
    #[error(
        "not enough memory for {what}: {mb} MB could not be allocated; free some memory or \
         raise the process's memory limit (ulimit -v)",
        mb = bytes.div_ceil(1 << 20)
    )]
    OutOfMemory {
        /// What the memory was for, naming the file or set.
        what: String,
        /// Bytes that were needed.
        bytes: u64,
    },
    /// A path that must be a regular file is something else (a folder, a FIFO, a device).
    #[error("{path} is not a regular file (it is {kind}); give the path of a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// A file is larger than what is accepted for its kind.
    #[error("{path} is {size} bytes, more than the {limit} bytes accepted for {what}")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The largest size accepted.
        limit: u64,
        /// What the file was to be read as.
        what: &'static str,
    },
    /// A set that must hold images holds none.
    #[error("the {split} set holds no images{hint}")]
    EmptySet {
        /// `training`, `validation` or `test`.
        split: &'static str,
        /// Why, and what to change (starts with `: ` when not empty).
        hint: String,
    },
    /// The body is shorter than the header says.
    #[error(
        "{path} is truncated: its header declares {expected} bytes of data but only {found} follow; download or copy it again"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// The body is longer than the header says.
    #[error(
        "{path} has data after the {expected} bytes its header declares; the file is corrupt or not an IDX file"
    )]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises.
        expected: u64,
    },
    /// A label is not a valid class index.
    #[error("{path}: label {label} at index {index} is out of range: labels must be 0 to {max}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Position of the bad label.
        index: usize,
        /// The bad label.
        label: crate::Label,
        /// The largest valid label.
        max: crate::Label,
    },
    /// Image and label files disagree on the number of items.
    #[error(
        "{images} holds {image_count} images but {labels} holds {label_count} labels; the two files must come from the same split"
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Number of images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Number of labels.
        label_count: usize,
    },
    /// Training and test images have different shapes.
    #[error(
        "training images are {train} but test images are {test}; both must come from the same \
         data set (or give the dataset block an \"image_size\" and \"channels\" to convert them)"
    )]
    ShapeMismatch {
        /// The training images' shape.
        train: crate::ImageShape,
        /// The test images' shape.
        test: crate::ImageShape,
    },
    /// The requested validation split does not fit in the training set.
    #[error(
        "validation size {requested} is invalid: it must be at least 1 and leave at least one of the {available} training images for training"
    )]
    BadSplit {
        /// The requested validation size.
        requested: usize,
        /// Training images available.
        available: usize,
    },
    /// Pixel and label buffers of an in-memory set disagree.
    #[error(
        "an image set of {images} images of {image_size} pixels needs {expected} pixel bytes, got {found}; and {labels} labels"
    )]
    BadBuffers {
        /// Images implied by the labels.
        images: usize,
        /// Pixels per image.
        image_size: usize,
        /// Pixel bytes needed.
        expected: usize,
        /// Pixel bytes given.
        found: usize,
        /// Labels given.
        labels: usize,
    },
    /// An image index past the end of a set.
    #[error("image index {index} is out of range for a set of {len} images")]
    IndexOutOfBounds {
        /// The index asked for.
        index: usize,
        /// Images in the set.
        len: usize,
    },
    /// A file is not an image this crate can decode.
    #[error("{path} is not a readable image ({reason}); give a PNG, JPEG, BMP, GIF or WebP file")]
    BadImage {
        /// The file.
        path: PathBuf,
        /// What the decoder reported.
        reason: String,
    },
    /// The picture is too large to be decoded.
    #[error(
        "{path} is {width}x{height} pixels, larger than the {limit}x{limit} accepted; scale it \
         down (a digit needs no more than a few hundred pixels a side)"
    )]
    ImageTooLarge {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The largest side accepted.
        limit: u32,
    },
    /// The image holds no digit: it is a single shade.
    #[error("{path} is blank: it holds a single shade, so there is no digit to classify")]
    BlankImage {
        /// The file.
        path: PathBuf,
    },
    /// The task names classes the dataset lacks, or the same class twice.
    #[error("invalid task: {reason}")]
    BadTask {
        /// What is wrong.
        reason: String,
    },
}
