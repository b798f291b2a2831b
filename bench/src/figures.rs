//! The figures of one run: flat JSON keys (`cmd_tps_c16`, …) in the order they were measured,
//! printed as one table with each target beside the figure it applies to.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::Result;

#[derive(Default)]
pub struct Figures {
    rows: Vec<Row>,
}

struct Row {
    key: String,
    value: f64,
    note: &'static str,
}

impl Figures {
    pub fn record(&mut self, key: impl Into<String>, value: f64) {
        self.record_with(key, value, "");
    }

    /// A figure with a note shown in the table: its target, or what it is compared with.
    pub fn record_with(&mut self, key: impl Into<String>, value: f64, note: &'static str) {
        let key = key.into();
        // Three decimals: measured figures, not float noise.
        let value = (value * 1000.0).round() / 1000.0;
        println!("  {key} = {}", format_value(value));
        self.rows.push(Row { key, value, note });
    }

    pub fn table(&self, mode: &str, elapsed: Duration) -> String {
        let width = self.rows.iter().map(|row| row.key.len()).max().unwrap_or(0);
        let mut table = format!(
            "\nLedgerline benchmarks ({mode} run, {} s)\n{:width$}  {:>14}  note\n",
            elapsed.as_secs(),
            "figure",
            "value"
        );
        for row in &self.rows {
            let _ = writeln!(
                table,
                "{:width$}  {:>14}  {}",
                row.key,
                format_value(row.value),
                row.note
            );
        }
        table
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut object = Map::new();
        for row in &self.rows {
            let value = serde_json::Number::from_f64(row.value)
                .map(Value::Number)
                .unwrap_or(Value::Null);
            object.insert(row.key.clone(), value);
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(object))?;
        text.push('\n');
        std::fs::write(path, text)?;
        Ok(())
    }
}

/// Rates as whole numbers, milliseconds and ratios with two decimals (the JSON keeps three).
fn format_value(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}
