//! A small JSON reader for Keras's `config.json`, read at compile time by `keras_model!`.
//! It refuses malformed input with an error and never panics.

/// A JSON value; objects keep their keys in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser { bytes: text.as_bytes(), at: 0, depth: 0 };
        let value = p.value()?;
        p.space();
        if p.at != p.bytes.len() {
            return Err(format!("unexpected data at byte {}", p.at));
        }
        Ok(value)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn error<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.bytes.get(self.at..).is_some_and(|rest| rest.starts_with(literal.as_bytes())) {
            self.at += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        // Deep nesting is refused rather than overflowing the compiler's stack.
        if self.depth > 128 {
            return self.error("nesting too deep");
        }
        match self.bytes.get(self.at) {
            None => self.error("unexpected end"),
            Some(b'n') if self.eat("null") => Ok(Json::Null),
            Some(b't') if self.eat("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                self.depth += 1;
                let mut items = Vec::new();
                self.space();
                if !self.eat("]") {
                    loop {
                        items.push(self.value()?);
                        self.space();
                        if self.eat("]") {
                            break;
                        }
                        if !self.eat(",") {
                            return self.error("expected `,` or `]`");
                        }
                    }
                }
                self.depth -= 1;
                Ok(Json::Array(items))
            }
            Some(b'{') => {
                self.at += 1;
                self.depth += 1;
                let mut members = Vec::new();
                self.space();
                if !self.eat("}") {
                    loop {
                        self.space();
                        if self.bytes.get(self.at) != Some(&b'"') {
                            return self.error("expected a key");
                        }
                        let key = self.string()?;
                        self.space();
                        if !self.eat(":") {
                            return self.error("expected `:`");
                        }
                        members.push((key, self.value()?));
                        self.space();
                        if self.eat("}") {
                            break;
                        }
                        if !self.eat(",") {
                            return self.error("expected `,` or `}`");
                        }
                    }
                }
                self.depth -= 1;
                Ok(Json::Object(members))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("");
                text.parse().map(Json::Number).or_else(|_| self.error("bad number"))
            }
            // Python's json writes these for non-finite floats.
            Some(b'N') if self.eat("NaN") => Ok(Json::Number(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(Json::Number(f64::INFINITY)),
            Some(_) => self.error("unexpected character"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.bytes.get(self.at) {
                None => return self.error("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escaped = self.bytes.get(self.at + 1).copied();
                    self.at += 2;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'u') => {
                            let hex = self
                                .bytes
                                .get(self.at..self.at + 4)
                                .and_then(|h| std::str::from_utf8(h).ok());
                            let code = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                            self.at += 4;
                            out.push(code.and_then(char::from_u32).unwrap_or('\u{fffd}'));
                        }
                        _ => return self.error("bad escape"),
                    }
                }
                Some(_) => {
                    // Copy one UTF-8 character.
                    let rest = std::str::from_utf8(&self.bytes[self.at..])
                        .map_err(|_| "invalid UTF-8".to_string())?;
                    let c = rest.chars().next().unwrap_or('\u{fffd}');
                    out.push(c);
                    self.at += c.len_utf8();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_keras_writes_and_refuses_garbage() {
        let v = Json::parse(r#"{"a": [1, -2.5e3, true, null], "b": {"c": "x\"y\u00e9"}}"#).unwrap();
        assert_eq!(v.get("a").and_then(Json::as_array).map(|a| a.len()), Some(4));
        assert_eq!(v.get("b").and_then(|b| b.get("c")).and_then(Json::as_str), Some("x\"yé"));
        for bad in ["", "{", "[1,", r#"{"a" 1}"#, "tru", "\"abc", "1 2", &"[".repeat(1000)] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
    }
}
