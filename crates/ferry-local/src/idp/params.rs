//! Query strings and form bodies, parsed strictly: OAuth forbids repeating a parameter, and a
//! repeated one is how some request-smuggling tricks work, so a repeat is an error.

use std::collections::HashMap;

const MAX_PARAMS: usize = 32;

pub(super) struct Params(HashMap<String, String>);

impl Params {
    pub(super) fn parse(raw: &[u8]) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if map.len() >= MAX_PARAMS {
                return Err("the request has too many parameters".into());
            }
            let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
            if map.insert(name.into_owned(), value.into_owned()).is_some() {
                return Err(format!("the parameter '{shown}' appears more than once"));
            }
        }
        Ok(Self(map))
    }

    pub(super) fn parse_query(raw: Option<&str>) -> Result<Self, String> {
        Self::parse(raw.unwrap_or_default().as_bytes())
    }

    /// The value, with an empty one treated as absent (RFC 6749 §3.1).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_refused_and_empty_values_are_absent() {
        let p = Params::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(Params::parse_query(None).unwrap().get("a").is_none());
    }
}
