//! Log lines: netcat's words in text, or one JSON object per line.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written (to stderr, like `nc -v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// The message alone, as netcat writes it; warnings and errors say so first.
    Text,
    /// One JSON object per line with a timestamp, the level and every field.
    Json,
}

/// Installs the global subscriber. `level` is the most verbose level shown.
pub fn init(format: LogFormat, level: Level) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.event_format(Text).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// `connect to [127.0.0.1] from [127.0.0.1] 56200` and nothing else on the line.
struct Text;

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let prefix = match *event.metadata().level() {
            Level::ERROR => "pipelab-proxy: error: ",
            Level::WARN => "pipelab-proxy: warning: ",
            _ => "",
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        writeln!(writer, "{prefix}{}", message.0)
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
