//! TensorBoard event files: scalars, pictures and hyperparameters that `tensorboard --logdir`
//! shows, written from Rust without TensorFlow.
//!
//! An event file is a sequence of TFRecords, each holding one `tensorflow.Event` protocol
//! buffer. [`EventWriter`] writes them; [`read_events`] reads them back (tests, tools).
//!
//! Written here rather than taken from crates.io: the crate there (`tensorboard-rs`, last
//! released in 2022) is built on protobuf 2 and image 0.23, unwraps its I/O errors, and has no
//! hyperparameters; the format itself is a few lines of framing around three small messages,
//! declared in [`proto`] with `prost`'s derive and checked by `crc32c`.
//!
//! ```
//! use tfevents::{EventWriter, HParam, SessionStatus};
//!
//! let mut file = Vec::new();
//! let mut events = EventWriter::new(&mut file)?;
//! events.hparams_start(&[("learning_rate".into(), HParam::Number(0.1))])?;
//! events.scalar("train/loss", 1, 2.30)?;
//! events.scalar("train/loss", 2, 1.75)?;
//! events.hparams_end(SessionStatus::Success)?;
//! events.flush()?;
//!
//! let read = tfevents::read_events(&file)?;
//! assert_eq!(read.events.len(), 5); // the file version, then the four above
//! assert!(!read.torn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod proto;

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use proto::{
    Event, HParamsPluginData, Image, PluginData, ProtoValue, SessionEndInfo, SessionLog,
    SessionStartInfo, Summary, SummaryMetadata, Value, event::What, hparams_plugin_data::Data,
    proto_value, value::Kind,
};

/// The tag under which TensorBoard's hparams plugin finds a session's hyperparameters.
pub const SESSION_START_TAG: &str = "_hparams_/session_start_info";
/// The tag under which it finds how a session ended.
pub const SESSION_END_TAG: &str = "_hparams_/session_end_info";

/// The name TensorBoard expects of an event file: `events.out.tfevents.<seconds>.<host>` plus
/// `suffix` (which keeps two files written in one second by one host apart, e.g. `.<pid>.1`).
pub fn file_name(seconds: u64, host: &str, suffix: &str) -> String {
    format!("events.out.tfevents.{seconds:010}.{host}{suffix}")
}

/// Seconds since the Unix epoch, now.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// A hyperparameter's value, as TensorBoard's HParams view filters and sorts it.
#[derive(Debug, Clone, PartialEq)]
pub enum HParam {
    /// A number.
    Number(f64),
    /// Text, e.g. a schedule's name.
    Text(String),
    /// A switch.
    Bool(bool),
}

/// How a session (a training run) ended, for the HParams view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// It finished.
    Success,
    /// It failed (diverged, say).
    Failure,
    /// It stopped before the end and can go on.
    Running,
}

/// Writes events to `W` (a file, usually), one TFRecord each. Every method writes whole
/// records; [`flush`](Self::flush) hands them to `W`. A file cut short by a crash keeps every
/// record flushed before it, and TensorBoard reads up to the last whole one.
#[derive(Debug)]
pub struct EventWriter<W: Write> {
    out: W,
}

impl<W: Write> EventWriter<W> {
    /// Starts an event stream on `out` with its file-version record.
    pub fn new(out: W) -> io::Result<Self> {
        let mut writer = Self { out };
        writer.write_event(0, What::FileVersion("brain.Event:2".to_string()))?;
        Ok(writer)
    }

    /// A scalar of series `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> io::Result<()> {
        self.write_value(step, tag, None, Some(Kind::SimpleValue(value)))
    }

    /// A PNG picture of `width` x `height` pixels, `channels` 1 (grey), 3 (RGB) or 4 (RGBA), at
    /// `step`.
    pub fn png(
        &mut self,
        tag: &str,
        step: i64,
        png: &[u8],
        (width, height, channels): (u32, u32, u8),
    ) -> io::Result<()> {
        let size = |n: u32| i32::try_from(n).map_err(|_| io::Error::other("picture too large"));
        let image = Image {
            height: size(height)?,
            width: size(width)?,
            colorspace: i32::from(channels),
            encoded_image_string: png.to_vec(),
        };
        self.write_value(step, tag, None, Some(Kind::Image(image)))
    }

    /// Marks a new session starting at `step`: TensorBoard drops what earlier files recorded
    /// from this step on, so a run resumed from a checkpoint continues its curves without the
    /// steps a killed process logged after that checkpoint.
    pub fn restart_at(&mut self, step: i64) -> io::Result<()> {
        let log = SessionLog {
            status: proto::SESSION_START,
        };
        self.write_event(step, What::SessionLog(log))
    }

    /// The run's hyperparameters, for TensorBoard's HParams view (which then lists the run,
    /// with its scalars as the metrics to compare).
    pub fn hparams_start(&mut self, hparams: &[(String, HParam)]) -> io::Result<()> {
        let hparams = hparams
            .iter()
            .map(|(name, value)| (name.clone(), proto_value(value)))
            .collect();
        let start = SessionStartInfo {
            hparams,
            group_name: String::new(),
            start_time_secs: now(),
        };
        self.write_hparams(SESSION_START_TAG, Data::SessionStartInfo(start))
    }

    /// How the run ended, for the HParams view.
    pub fn hparams_end(&mut self, status: SessionStatus) -> io::Result<()> {
        let end = SessionEndInfo {
            status: match status {
                SessionStatus::Success => 1,
                SessionStatus::Failure => 2,
                SessionStatus::Running => 3,
            },
            end_time_secs: now(),
        };
        self.write_hparams(SESSION_END_TAG, Data::SessionEndInfo(end))
    }

    /// Hands every record written so far to `W`.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The writer's output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn write_hparams(&mut self, tag: &str, data: Data) -> io::Result<()> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        };
        let metadata = SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "hparams".to_string(),
                content: content.encode_to_vec(),
            }),
        };
        self.write_value(0, tag, Some(metadata), None)
    }

    fn write_value(
        &mut self,
        step: i64,
        tag: &str,
        metadata: Option<SummaryMetadata>,
        kind: Option<Kind>,
    ) -> io::Result<()> {
        let value = Value {
            tag: tag.to_string(),
            metadata,
            kind,
        };
        self.write_event(step, What::Summary(Summary { value: vec![value] }))
    }

    fn write_event(&mut self, step: i64, what: What) -> io::Result<()> {
        let event = Event {
            wall_time: now(),
            step,
            what: Some(what),
        };
        self.out.write_all(&record(&event.encode_to_vec()))
    }
}

fn proto_value(value: &HParam) -> ProtoValue {
    ProtoValue {
        kind: Some(match value {
            HParam::Number(number) => proto_value::Kind::NumberValue(*number),
            HParam::Text(text) => proto_value::Kind::StringValue(text.clone()),
            HParam::Bool(switch) => proto_value::Kind::BoolValue(*switch),
        }),
    }
}

/// `data` framed as one TFRecord: its length (u64, little-endian), the length's masked
/// CRC-32C, the data, the data's masked CRC-32C.
pub fn record(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// TFRecord's masked CRC-32C (Castagnoli): the checksum rotated right by 15 bits plus a
/// constant, so that a checksum of data that holds checksums stays well distributed.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// What [`read_events`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadEvents {
    /// Every whole record, decoded.
    pub events: Vec<Event>,
    /// Whether the file ends in a record cut short (a writer killed mid-record); the records
    /// before it are all in `events`.
    pub torn: bool,
}

/// An event file that is damaged before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedFile {
    /// Byte offset of the damaged record.
    pub offset: usize,
    /// What is wrong there.
    pub problem: &'static str,
}

impl std::fmt::Display for DamagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "damaged event record at byte {}: {}",
            self.offset, self.problem
        )
    }
}

impl std::error::Error for DamagedFile {}

/// Decodes the records of an event file. A record cut short at the end is reported as `torn`,
/// not as an error (TensorBoard reads such a file up to it); a checksum that does not match or
/// a record that is not an event is an error.
pub fn read_events(bytes: &[u8]) -> Result<ReadEvents, DamagedFile> {
    let mut events = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let damaged = |problem| DamagedFile {
            offset: at,
            problem,
        };
        let Some(header) = bytes.get(at..at + 12) else {
            return Ok(ReadEvents { events, torn: true });
        };
        let (length, crc) = header.split_at(8);
        if masked_crc(length).to_le_bytes() != crc {
            return Err(damaged("the length's checksum does not match"));
        }
        let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| (at + 12).checked_add(length))
            .and_then(|data_end| data_end.checked_add(4));
        let Some(record) = end.and_then(|end| bytes.get(at + 12..end)) else {
            return Ok(ReadEvents { events, torn: true });
        };
        let (data, crc) = record.split_at(record.len() - 4);
        if masked_crc(data).to_le_bytes() != crc {
            return Err(damaged("the data's checksum does not match"));
        }
        events.push(Event::decode(data).map_err(|_| damaged("not an Event protocol buffer"))?);
        at += 16 + data.len();
    }
    Ok(ReadEvents {
        events,
        torn: false,
    })
}

/// The events of a file up to its first damaged or cut-short record: what TensorBoard reads
/// of it.
pub fn read_events_lenient(bytes: &[u8]) -> Vec<Event> {
    match read_events(bytes) {
        Ok(read) => read.events,
        Err(damaged) => read_events(&bytes[..damaged.offset])
            .map(|read| read.events)
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorboard() {
        // Values of TensorBoard's own `masked_crc32c` (tensorboard 2.21,
        // tensorboard.compat.tensorflow_stub.pywrap_tensorflow).
        assert_eq!(masked_crc(b""), 0xa282_ead8);
        assert_eq!(masked_crc(b"hello"), 0x191c_1fbb);
        assert_eq!(masked_crc(&5u64.to_le_bytes()), 0x3e04_b2ea);
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_not_an_error() {
        let mut file = Vec::new();
        let mut writer = EventWriter::new(&mut file).unwrap();
        writer.scalar("train/loss", 7, 0.5).unwrap();
        writer.png("pictures/curves", 9, b"png", (3, 2, 4)).unwrap();
        writer.restart_at(5).unwrap();
        writer.flush().unwrap();
        let read = read_events(&file).unwrap();
        assert!(!read.torn);
        assert_eq!(read.events.len(), 4);
        assert_eq!(
            read.events[0].what,
            Some(What::FileVersion("brain.Event:2".into()))
        );
        let Some(What::Summary(summary)) = &read.events[1].what else {
            panic!("{:?}", read.events[1]);
        };
        assert_eq!(read.events[1].step, 7);
        assert_eq!(summary.value[0].tag, "train/loss");
        assert_eq!(summary.value[0].kind, Some(Kind::SimpleValue(0.5)));
        for cut in [1, 11, 13, file.len() - 1] {
            let short = &file[..file.len() - cut];
            let read = read_events(short).unwrap();
            assert!(read.torn, "cut {cut}");
            assert!(read.events.len() < 4);
        }
        let mut flipped = file.clone();
        let last = flipped.len() - 6;
        flipped[last] ^= 1;
        assert!(read_events(&flipped).is_err());
        // What comes before the damage is still read.
        assert_eq!(read_events_lenient(&flipped).len(), 3);
    }

    #[test]
    fn hparams_are_the_plugins_messages() {
        let mut file = Vec::new();
        let mut writer = EventWriter::new(&mut file).unwrap();
        let hparams = [
            ("batch_size".to_string(), HParam::Number(128.0)),
            ("schedule".to_string(), HParam::Text("cosine".into())),
            ("bias".to_string(), HParam::Bool(true)),
        ];
        writer.hparams_start(&hparams).unwrap();
        writer.hparams_end(SessionStatus::Failure).unwrap();
        let read = read_events(&file).unwrap();
        let content = |event: &Event| {
            let Some(What::Summary(summary)) = &event.what else {
                panic!("{event:?}");
            };
            let plugin = summary.value[0].metadata.clone().unwrap().plugin_data;
            let plugin = plugin.unwrap();
            assert_eq!(plugin.plugin_name, "hparams");
            (
                summary.value[0].tag.clone(),
                HParamsPluginData::decode(plugin.content.as_slice()).unwrap(),
            )
        };
        let (tag, start) = content(&read.events[1]);
        assert_eq!(tag, SESSION_START_TAG);
        let Some(Data::SessionStartInfo(start)) = start.data else {
            panic!("{start:?}");
        };
        assert_eq!(start.hparams.len(), 3);
        assert_eq!(
            start.hparams["schedule"].kind,
            Some(proto_value::Kind::StringValue("cosine".into()))
        );
        let (tag, end) = content(&read.events[2]);
        assert_eq!(tag, SESSION_END_TAG);
        assert!(matches!(
            end.data,
            Some(Data::SessionEndInfo(SessionEndInfo { status: 2, .. }))
        ));
    }

    #[test]
    fn file_names_are_what_tensorboard_looks_for() {
        assert_eq!(
            file_name(1_700_000_000, "host", ".42.0"),
            "events.out.tfevents.1700000000.host.42.0"
        );
    }
}
