//! Whole numbers in JSON bodies as JSON Schema counts them: `7`, `7.0` and `7e0` are the same
//! integer, so every field that openapi.yaml types `integer` accepts all three. A fraction, or a
//! number outside the field's range, is refused like any other wrong value.

use serde::de::{Deserialize, Deserializer, Error, Unexpected};
use serde_json::Number;

/// `#[serde(deserialize_with = "whole::number")]` on an integer field.
pub fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    let n = Number::deserialize(deserializer)?;
    to_integer(&n)
}

/// `#[serde(default, deserialize_with = "whole::optional")]` on an optional integer field
/// (`null` or absent is `None`).
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    Option::<Number>::deserialize(deserializer)?
        .map(|n| to_integer(&n))
        .transpose()
}

fn to_integer<T: TryFrom<i128>, E: Error>(n: &Number) -> Result<T, E> {
    let expected = || format!("a whole number that fits {}", std::any::type_name::<T>());
    let value = if let Some(u) = n.as_u64() {
        i128::from(u)
    } else if let Some(i) = n.as_i64() {
        i128::from(i)
    } else {
        // Any f64 this large is out of range for every field anyway; below it the conversion is
        // exact.
        let f = n.as_f64().unwrap_or(f64::NAN);
        if f.fract() != 0.0 || f.abs() >= 1e30 {
            return Err(E::invalid_value(Unexpected::Float(f), &expected().as_str()));
        }
        f as i128
    };
    T::try_from(value)
        .map_err(|_| E::invalid_value(Unexpected::Other(&n.to_string()), &expected().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "number")]
        size: u64,
        #[serde(deserialize_with = "number")]
        part: u32,
        #[serde(default, deserialize_with = "optional")]
        hours: Option<i64>,
    }

    fn parse(json: &str) -> Result<Sample, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn integers_written_as_floats_are_integers() {
        let expected = || {
            Ok(Sample {
                size: 5,
                part: 2,
                hours: Some(24),
            })
        };
        assert_eq!(parse(r#"{"size":5,"part":2,"hours":24}"#), expected());
        assert_eq!(parse(r#"{"size":5.0,"part":2e0,"hours":24.0}"#), expected());
        assert_eq!(
            parse(r#"{"size":6456620708.0,"part":1,"hours":null}"#).map(|s| (s.size, s.hours)),
            Ok((6_456_620_708, None))
        );
        assert_eq!(parse(r#"{"size":1,"part":1}"#).map(|s| s.hours), Ok(None));
    }

    #[test]
    fn fractions_and_numbers_out_of_range_are_refused() {
        for bad in [
            r#"{"size":1.5,"part":1}"#,
            r#"{"size":-1,"part":1}"#,
            r#"{"size":-1.0,"part":1}"#,
            r#"{"size":1,"part":4294967296}"#,
            r#"{"size":1e30,"part":1}"#,
            r#"{"size":18446744073709551616,"part":1}"#,
            r#"{"size":"1","part":1}"#,
            r#"{"size":1,"part":1,"hours":0.5}"#,
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.contains("whole number") || err.contains("invalid type"),
                "{bad}: {err}"
            );
        }
    }
}
