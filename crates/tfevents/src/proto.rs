//! The protocol buffer messages of a TensorBoard event file, declared with `prost`'s derive
//! (no `protoc`, no build script). Only the fields this crate writes are declared; the tags are
//! those of TensorFlow's `event.proto` and `summary.proto` and of TensorBoard's hparams plugin
//! (`plugins/hparams/api.proto`, `plugin_data.proto`), and of `google/protobuf/struct.proto`.

use std::collections::BTreeMap;

/// `tensorflow.Event`: one record of an event file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The global step the event belongs to.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event carries.
    #[prost(oneof = "event::What", tags = "3, 5, 7")]
    pub what: Option<event::What>,
}

/// The `what` of an [`Event`].
pub mod event {
    /// What an [`Event`](super::Event) carries.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum What {
        /// `brain.Event:2`, the first record of every file.
        #[prost(string, tag = "3")]
        FileVersion(String),
        /// Tagged values.
        #[prost(message, tag = "5")]
        Summary(super::Summary),
        /// A session's start (TensorBoard discards the events of an earlier session from this
        /// step on) or end. (Tag 6 is the deprecated `log_message`.)
        #[prost(message, tag = "7")]
        SessionLog(super::SessionLog),
    }
}

/// `tensorflow.Summary`: the values of one event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// `tensorflow.Summary.Value`: one tagged value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The series it belongs to, e.g. `train/loss`.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// Which TensorBoard plugin reads it, when not a plain scalar or image.
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    /// The value.
    #[prost(oneof = "value::Kind", tags = "2, 4")]
    pub kind: Option<value::Kind>,
}

/// The `value` of a [`Value`].
pub mod value {
    /// The value of a [`Value`](super::Value).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// A scalar (TensorBoard's Scalars view).
        #[prost(float, tag = "2")]
        SimpleValue(f32),
        /// An encoded picture (the Images view).
        #[prost(message, tag = "4")]
        Image(super::Image),
    }
}

/// `tensorflow.Summary.Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Image {
    /// Height in pixels.
    #[prost(int32, tag = "1")]
    pub height: i32,
    /// Width in pixels.
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 1 grey, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    /// The PNG (or JPEG) bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin and its own data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// `tensorflow.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    /// `hparams` for hyperparameters.
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// The plugin's serialised message.
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `tensorflow.SessionLog`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionLog {
    /// 1 START, 2 STOP, 3 CHECKPOINT.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `SessionLog.START`.
pub const SESSION_START: i32 = 1;

/// `tensorboard.hparams.HParamsPluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HParamsPluginData {
    /// Always 0.
    #[prost(int32, tag = "1")]
    pub version: i32,
    /// A session's start or end.
    #[prost(oneof = "hparams_plugin_data::Data", tags = "3, 4")]
    pub data: Option<hparams_plugin_data::Data>,
}

/// The `data` of [`HParamsPluginData`].
pub mod hparams_plugin_data {
    /// A session's start (its hyperparameters) or its end (its status).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// The hyperparameters of a session.
        #[prost(message, tag = "3")]
        SessionStartInfo(super::SessionStartInfo),
        /// How a session ended.
        #[prost(message, tag = "4")]
        SessionEndInfo(super::SessionEndInfo),
    }
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionStartInfo {
    /// Hyperparameter values by name.
    #[prost(btree_map = "string, message", tag = "1")]
    pub hparams: BTreeMap<String, ProtoValue>,
    /// Sessions with the same group name are repeats of one configuration; empty: the run.
    #[prost(string, tag = "4")]
    pub group_name: String,
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

/// `tensorboard.hparams.SessionEndInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionEndInfo {
    /// 1 success, 2 failure, 3 running.
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}

/// `google.protobuf.Value`, the three kinds a hyperparameter takes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoValue {
    /// The value.
    #[prost(oneof = "proto_value::Kind", tags = "2, 3, 4")]
    pub kind: Option<proto_value::Kind>,
}

/// The `kind` of a [`ProtoValue`].
pub mod proto_value {
    /// A number, a string or a boolean.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// A number.
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
    }
}
